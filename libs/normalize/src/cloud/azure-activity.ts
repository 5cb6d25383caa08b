import type { NormalizedEvent, RawEvent } from '@siem/core';
import { emptyEvent, fail, ip, type JsonObject, nameStr, obj, setTime, str } from '../fields.js';
import { auditOutcomeSeverity, azureSeverity } from '../severity.js';

/**
 * Azure Activity Log (Azure Monitor "Azure Activity Log event schema"), in both shapes it comes in:
 * - the resource-log schema of diagnostic settings (Event Hub, storage): a `records` array of
 *   `{time, resourceId, operationName, category, resultType, callerIpAddress, identity, level, …}`;
 * - the REST API / portal JSON: `{eventTimestamp, operationName: {value}, status: {value}, caller,
 *   httpRequest: {clientIpAddress}, subscriptionId, …}`.
 */

const OCSF_API_ACTIVITY = 6003;
const OCSF_DETECTION = 2004;

const CLAIM_UPN = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn';
const CLAIM_NAME = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name';
const CLAIM_TENANT = 'http://schemas.microsoft.com/identity/claims/tenantid';
const CLAIM_OBJECT = 'http://schemas.microsoft.com/identity/claims/objectidentifier';

/** `{value, localizedValue}` or a plain string. */
function val(v: unknown): string | null {
  return str(obj(v)?.value ?? v);
}

function outcomeOf(result: string | null): 'success' | 'failure' | 'unknown' {
  if (result === null) return 'unknown';
  const r = result.toLowerCase();
  if (r === 'success' || r === 'succeeded') return 'success';
  if (r === 'failure' || r === 'failed') return 'failure';
  return 'unknown';
}

const SUBSCRIPTION_RE = /^\/subscriptions\/([^/]+)/i;
const RESOURCE_GROUP_RE = /\/resourcegroups\/([^/]+)/i;

export function normalizeAzureRecord(
  raw: RawEvent,
  rec: JsonObject,
  eventId: string,
  rawText: string,
): NormalizedEvent {
  const operation = val(rec.operationName);
  if (operation === null) fail('not an Azure Activity Log record: operationName is required');
  const ev = emptyEvent(raw, 'azure_activity', eventId, rawText);
  setTime(ev, rec.time, rec.eventTimestamp);
  const identity = obj(rec.identity);
  const claims = obj(identity?.claims) ?? obj(rec.claims) ?? {};
  const authorization = obj(identity?.authorization) ?? obj(rec.authorization);
  const evidence = obj(authorization?.evidence);
  const httpRequest = obj(rec.httpRequest);
  const result = str(rec.resultType) ?? val(rec.status);
  const azureCategory = val(rec.category);
  const properties = obj(rec.properties);

  ev.action = operation;
  ev.appName = val(rec.resourceProviderName) ?? operation.split('/')[0]!;
  ev.userName =
    nameStr(rec.caller) ??
    nameStr(claims[CLAIM_UPN]) ??
    nameStr(claims.upn) ??
    nameStr(claims[CLAIM_NAME]) ??
    nameStr(claims.appid) ??
    nameStr(evidence?.principalId);
  ev.srcIp = ip(rec.callerIpAddress) ?? ip(httpRequest?.clientIpAddress) ?? ip(claims.ipaddr);
  ev.outcome = outcomeOf(result);
  ev.severity = azureSeverity(rec.level) ?? auditOutcomeSeverity(ev.outcome);

  const cat = azureCategory?.toLowerCase() ?? '';
  const opLower = operation.toLowerCase();
  if (cat === 'security') {
    ev.category = 'other';
    ev.classUid = OCSF_DETECTION;
  } else if (
    cat === 'servicehealth' ||
    cat === 'resourcehealth' ||
    cat === 'alert' ||
    cat === 'autoscale' ||
    cat === 'recommendation'
  ) {
    ev.category = 'other';
  } else {
    ev.classUid = OCSF_API_ACTIVITY;
    if (cat === 'policy') ev.category = 'audit';
    else if (opLower.endsWith('/read')) ev.category = 'other';
    else ev.category = 'configuration';
  }

  const resourceId = str(rec.resourceId);
  const subscription =
    str(rec.subscriptionId) ?? (resourceId === null ? null : (SUBSCRIPTION_RE.exec(resourceId)?.[1] ?? null));
  const resourceGroup =
    str(rec.resourceGroupName) ??
    (resourceId === null ? null : (RESOURCE_GROUP_RE.exec(resourceId)?.[1] ?? null));
  const region = str(rec.location) ?? str(properties?.resourceLocation) ?? str(properties?.region);
  const description = str(rec.resultDescription) ?? str(rec.description);
  ev.message =
    description ??
    `${operation} ${result ?? ''} by ${ev.userName ?? 'unknown caller'}`.replace(/ {2,}/g, ' ').trim();

  const a = ev.attrs;
  a.cloud_provider = 'azure';
  if (subscription !== null) a.subscription_id = subscription;
  if (resourceGroup !== null) a.resource_group = resourceGroup;
  if (resourceId !== null) a.resource = resourceId;
  if (region !== null) a.region = region;
  if (azureCategory !== null) a.azure_category = azureCategory;
  if (result !== null) a.result_type = result;
  const signature = str(rec.resultSignature) ?? val(rec.subStatus);
  if (signature !== null) a.result_signature = signature;
  const correlation = str(rec.correlationId);
  if (correlation !== null) a.correlation_id = correlation;
  const opId = str(rec.operationId) ?? str(properties?.operationId);
  if (opId !== null) a.operation_id = opId;
  const tenant = str(claims[CLAIM_TENANT]) ?? str(claims.tid);
  if (tenant !== null) a.azure_tenant_id = tenant;
  const objectId = str(claims[CLAIM_OBJECT]) ?? str(claims.oid);
  if (objectId !== null) a.caller_object_id = objectId;
  const appId = str(claims.appid);
  if (appId !== null) a.caller_app_id = appId;
  if (typeof rec.durationMs === 'number') a.duration_ms = rec.durationMs;
  const azure: JsonObject = {};
  if (authorization !== null) azure.authorization = authorization;
  if (properties !== null && Object.keys(properties).length > 0) azure.properties = properties;
  const eventDataId = str(rec.eventDataId);
  if (eventDataId !== null) azure.eventDataId = eventDataId;
  if (Object.keys(azure).length > 0) a.azure = azure;
  return ev;
}
