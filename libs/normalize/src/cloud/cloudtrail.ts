import type { NormalizedEvent, RawEvent } from '@siem/core';
import { compact, emptyEvent, fail, ip, type JsonObject, nameStr, obj, setTime, str } from '../fields.js';
import { auditOutcomeSeverity } from '../severity.js';

/**
 * AWS CloudTrail records (AWS CloudTrail User Guide, "CloudTrail record contents"): one record, or
 * the `Records` array of a log file. Actor from `userIdentity`, action `eventName`, source IP
 * `sourceIPAddress`, outcome from `errorCode` (and the sign-in result in `responseElements`).
 */

const OCSF_AUTHENTICATION = 3002;
const OCSF_ACCOUNT_CHANGE = 3001;
const OCSF_GROUP_MANAGEMENT = 3006;
const OCSF_API_ACTIVITY = 6003;

const SIGN_IN = new Set(['ConsoleLogin', 'CheckMfa', 'ExternalIdPDirectoryLogin', 'UserAuthentication']);
const STS_AUTH = new Set([
  'AssumeRole',
  'AssumeRoleWithSAML',
  'AssumeRoleWithWebIdentity',
  'GetSessionToken',
  'GetFederationToken',
]);
const IAM_ACCOUNT = new Set([
  'CreateUser',
  'DeleteUser',
  'UpdateUser',
  'CreateLoginProfile',
  'UpdateLoginProfile',
  'DeleteLoginProfile',
  'CreateAccessKey',
  'UpdateAccessKey',
  'DeleteAccessKey',
  'ChangePassword',
  'EnableMFADevice',
  'DeactivateMFADevice',
  'AttachUserPolicy',
  'DetachUserPolicy',
  'PutUserPolicy',
  'DeleteUserPolicy',
]);
const IAM_GROUP = new Set(['AddUserToGroup', 'RemoveUserFromGroup', 'CreateGroup', 'DeleteGroup']);
const TRAIL_CONTROL = new Set([
  'StartLogging',
  'StopLogging',
  'CreateTrail',
  'DeleteTrail',
  'UpdateTrail',
  'PutEventSelectors',
]);
const AWS_IDS: [string, string][] = [
  ['eventID', 'aws_event_id'],
  ['requestID', 'aws_request_id'],
  ['eventType', 'aws_event_type'],
  ['eventCategory', 'aws_event_category'],
  ['eventVersion', 'aws_event_version'],
];
const READ_PREFIX = /^(Get|List|Describe|Head|Lookup|Search|BatchGet|Check)/;

function actorName(ui: JsonObject | null): string | null {
  if (ui === null) return null;
  const name = nameStr(ui.userName);
  if (name !== null) return name;
  const type = str(ui.type);
  if (type === 'Root') return 'root';
  const arn = str(ui.arn);
  if (type === 'AssumedRole' && arn !== null) {
    // arn:aws:sts::123456789012:assumed-role/RoleName/SessionName → the session is who acted
    const slash = arn.lastIndexOf('/');
    if (slash > 0) return arn.slice(slash + 1);
  }
  const issuer = obj(obj(ui.sessionContext)?.sessionIssuer);
  return nameStr(issuer?.userName) ?? nameStr(ui.invokedBy) ?? nameStr(ui.principalId);
}

function resourceOf(rec: JsonObject): string | null {
  const resources = rec.resources;
  if (Array.isArray(resources)) {
    for (const r of resources) {
      const arn = str(obj(r)?.ARN);
      if (arn !== null) return arn;
    }
  }
  const p = obj(rec.requestParameters);
  if (p === null) return null;
  const items = obj(p.instancesSet)?.items;
  if (Array.isArray(items)) {
    const ids = items.map((i) => str(obj(i)?.instanceId)).filter((s): s is string => s !== null);
    if (ids.length > 0) return ids.join(',');
  }
  return (
    str(p.bucketName) ??
    str(p.roleName) ??
    str(p.userName) ??
    str(p.groupName) ??
    str(p.functionName) ??
    str(p.keyId) ??
    str(p.name) ??
    null
  );
}

function signInFailed(rec: JsonObject): boolean {
  const r = obj(rec.responseElements);
  if (r === null) return false;
  for (const k in r) if (r[k] === 'Failure') return true;
  return false;
}

export function normalizeCloudTrailRecord(
  raw: RawEvent,
  rec: JsonObject,
  eventId: string,
  rawText: string,
): NormalizedEvent {
  const eventName = str(rec.eventName);
  const eventSource = str(rec.eventSource);
  if (eventName === null || eventSource === null) {
    fail('not a CloudTrail record: eventName and eventSource are required');
  }
  const ev = emptyEvent(raw, 'cloudtrail', eventId, rawText);
  setTime(ev, rec.eventTime);
  const ui = obj(rec.userIdentity);
  const errorCode = str(rec.errorCode);
  const errorMessage = str(rec.errorMessage);
  ev.appName = eventSource;
  ev.action = eventName;
  ev.userName = actorName(ui);
  const sourceAddress = str(rec.sourceIPAddress);
  ev.srcIp = ip(sourceAddress);
  ev.outcome = errorCode !== null || signInFailed(rec) ? 'failure' : 'success';
  ev.severity = auditOutcomeSeverity(ev.outcome);

  const service = eventSource.split('.')[0];
  if ((service === 'signin' && SIGN_IN.has(eventName)) || (service === 'sts' && STS_AUTH.has(eventName))) {
    ev.category = 'authentication';
    ev.classUid = OCSF_AUTHENTICATION;
  } else if (service === 'iam' && IAM_ACCOUNT.has(eventName)) {
    ev.category = 'account_management';
    ev.classUid = OCSF_ACCOUNT_CHANGE;
  } else if (service === 'iam' && IAM_GROUP.has(eventName)) {
    ev.category = 'account_management';
    ev.classUid = OCSF_GROUP_MANAGEMENT;
  } else {
    ev.classUid = OCSF_API_ACTIVITY;
    const readOnly = rec.readOnly === true || (rec.readOnly !== false && READ_PREFIX.test(eventName));
    if (service === 'cloudtrail' && TRAIL_CONTROL.has(eventName)) ev.category = 'audit';
    else ev.category = readOnly ? 'other' : 'configuration';
  }
  if (rec.readOnly === true || rec.readOnly === false) ev.attrs.read_only = rec.readOnly;

  const who = ev.userName ?? 'unknown principal';
  ev.message =
    errorCode !== null
      ? `${eventName} by ${who} failed: ${errorMessage ?? errorCode}`
      : ev.outcome === 'failure'
        ? `${eventName} by ${who} failed${errorMessage === null ? '' : `: ${errorMessage}`}`
        : `${eventName} by ${who} (${eventSource})`;

  const region = str(rec.awsRegion);
  const account = str(rec.recipientAccountId) ?? str(ui?.accountId);
  const resource = resourceOf(rec);
  const a = ev.attrs;
  a.cloud_provider = 'aws';
  if (region !== null) a.region = region;
  if (account !== null) a.account_id = account;
  if (resource !== null) a.resource = resource;
  if (sourceAddress !== null && ev.srcIp === null) a.source_address = sourceAddress;
  if (errorCode !== null) a.error_code = errorCode;
  if (errorMessage !== null) a.error_message = errorMessage;
  const userType = str(ui?.type);
  if (userType !== null) a.user_type = userType;
  const arn = str(ui?.arn);
  if (arn !== null) a.user_arn = arn;
  const ua = str(rec.userAgent);
  if (ua !== null) a.user_agent = ua;
  for (const [k, name] of AWS_IDS) {
    const v = str(rec[k]);
    if (v !== null) a[name] = v;
  }
  const mfa = str(obj(rec.additionalEventData)?.MFAUsed);
  if (mfa !== null) a.mfa_used = mfa === 'Yes';
  a.cloudtrail = compact({
    userIdentity: rec.userIdentity,
    requestParameters: rec.requestParameters,
    responseElements: rec.responseElements,
    additionalEventData: rec.additionalEventData,
    resources: rec.resources,
    tlsDetails: rec.tlsDetails,
    serviceEventDetails: rec.serviceEventDetails,
  });
  return ev;
}
