import type { NormalizedEvent, RawEvent } from '@siem/core';
import {
  compact,
  emptyEvent,
  fail,
  int,
  ip,
  isObject,
  type JsonObject,
  nameStr,
  obj,
  setTime,
  str,
} from '../fields.js';
import { gcpSeverity } from '../severity.js';

/**
 * Google Cloud Logging `LogEntry` (Cloud Logging API v2). Cloud Audit Logs entries carry an
 * `AuditLog` in `protoPayload`: actor `authenticationInfo.principalEmail`, action `methodName`,
 * resource `resourceName`, source `requestMetadata.callerIp`, outcome from `status.code` (a
 * google.rpc.Code: 0 is OK). Other entries keep their text/JSON payload as the message.
 */

const AUDIT_LOG_TYPE = 'type.googleapis.com/google.cloud.audit.AuditLog';
const OCSF_AUTHENTICATION = 3002;
const OCSF_HTTP = 4002;
const OCSF_API_ACTIVITY = 6003;

const LOG_NAME_RE = /^(projects|organizations|folders|billingAccounts)\/([^/]+)\/logs\/(.+)$/;

function auditKind(logId: string | null): string | null {
  if (logId === null) return null;
  const id = logId.replaceAll('%2F', '/');
  return id.startsWith('cloudaudit.googleapis.com/') ? id.slice('cloudaudit.googleapis.com/'.length) : null;
}

export function normalizeGcpEntry(
  raw: RawEvent,
  entry: JsonObject,
  eventId: string,
  rawText: string,
): NormalizedEvent {
  const proto = obj(entry.protoPayload);
  if (
    proto === null &&
    entry.textPayload === undefined &&
    !isObject(entry.jsonPayload) &&
    str(entry.logName) === null
  ) {
    fail('not a Cloud Logging LogEntry: no logName, protoPayload, textPayload or jsonPayload');
  }
  const ev = emptyEvent(raw, 'gcp_logging', eventId, rawText);
  setTime(ev, entry.timestamp, entry.receiveTimestamp);
  ev.severity = gcpSeverity(entry.severity) ?? 6;
  const resource = obj(entry.resource);
  const labels = obj(resource?.labels) ?? {};
  const logName = str(entry.logName);
  const lm = logName === null ? null : LOG_NAME_RE.exec(logName);
  const logId = lm?.[3] ?? null;
  const a = ev.attrs;
  a.cloud_provider = 'gcp';
  const project = str(labels.project_id) ?? (lm !== null && lm[1] === 'projects' ? lm[2]! : null);
  if (project !== null) a.project_id = project;
  if (lm !== null && lm[1] !== 'projects') a[`${lm[1]!.replace(/s$/, '')}_id`] = lm[2];
  if (logName !== null) a.log_name = logName;
  const insertId = str(entry.insertId);
  if (insertId !== null) a.insert_id = insertId;
  const resourceType = str(resource?.type);
  if (resourceType !== null) a.resource_type = resourceType;
  if (Object.keys(labels).length > 0) a.resource_labels = labels;
  const region = str(labels.location) ?? str(labels.zone) ?? str(labels.region);
  const entryLabels = obj(entry.labels);
  ev.hostName = str(entryLabels?.['compute.googleapis.com/resource_name']) ?? null;

  if (proto !== null && str(proto['@type']) === AUDIT_LOG_TYPE) {
    const authn = obj(proto.authenticationInfo);
    const meta = obj(proto.requestMetadata);
    const status = obj(proto.status);
    const method = str(proto.methodName);
    const service = str(proto.serviceName);
    ev.action = method;
    ev.appName = service;
    ev.userName = nameStr(authn?.principalEmail) ?? nameStr(authn?.principalSubject);
    const callerIp = str(meta?.callerIp);
    ev.srcIp = ip(callerIp);
    if (callerIp !== null && ev.srcIp === null) a.source_address = callerIp;
    const code = int(status?.code) ?? 0;
    const denied =
      Array.isArray(proto.authorizationInfo) &&
      proto.authorizationInfo.some((x) => obj(x)?.granted === false);
    ev.outcome = code !== 0 || denied ? 'failure' : 'success';
    if (ev.outcome === 'failure' && ev.severity > 4) ev.severity = 4;
    const kind = auditKind(logId);
    if (kind !== null) a.audit_log = kind;
    if (method !== null && /login|signin|authenticat/i.test(method)) {
      ev.category = 'authentication';
      ev.classUid = OCSF_AUTHENTICATION;
    } else {
      ev.classUid = OCSF_API_ACTIVITY;
      ev.category = kind === 'activity' ? 'configuration' : kind === 'policy' ? 'audit' : 'other';
    }
    const resourceName = str(proto.resourceName);
    if (resourceName !== null) a.resource = resourceName;
    const locations = obj(proto.resourceLocation)?.currentLocations;
    const location = Array.isArray(locations) ? str(locations[0]) : null;
    if (region !== null || location !== null) a.region = region ?? location;
    if (code !== 0) a.status_code = code;
    const statusMessage = str(status?.message);
    if (statusMessage !== null) a.status_message = statusMessage;
    const ua = str(meta?.callerSuppliedUserAgent);
    if (ua !== null) a.user_agent = ua;
    ev.message =
      statusMessage !== null
        ? `${method ?? 'call'} by ${ev.userName ?? 'unknown principal'} failed: ${statusMessage}`
        : `${method ?? 'call'} on ${resourceName ?? 'unknown resource'} by ${ev.userName ?? 'unknown principal'}`;
    a.gcp = compact({
      authenticationInfo: proto.authenticationInfo,
      authorizationInfo: proto.authorizationInfo,
      request: proto.request,
      response: proto.response,
      metadata: proto.metadata,
      serviceData: proto.serviceData,
      labels: entry.labels,
    });
    return ev;
  }

  // Any other LogEntry: text or JSON payload, possibly an HTTP request (load balancer, Cloud Run).
  if (region !== null) a.region = region;
  const json = obj(entry.jsonPayload);
  ev.message =
    str(entry.textPayload) ??
    str(json?.message) ??
    str(json?.msg) ??
    (json !== null ? JSON.stringify(json) : null);
  const http = obj(entry.httpRequest);
  if (http !== null) {
    ev.category = 'network';
    ev.classUid = OCSF_HTTP;
    ev.srcIp = ip(http.remoteIp);
    ev.dstIp = ip(http.serverIp);
    ev.action = str(http.requestMethod);
    const status = int(http.status);
    if (status !== null) ev.outcome = status < 400 ? 'success' : 'failure';
    a.http = http;
  }
  if (logId !== null) ev.appName = logId.replaceAll('%2F', '/');
  a.gcp = compact({ jsonPayload: json, protoPayload: proto, labels: entry.labels });
  return ev;
}
