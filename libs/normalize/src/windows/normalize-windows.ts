import type { NormalizedEvent, RawEvent } from '@siem/core';
import {
  compact,
  emptyEvent,
  fail,
  ip,
  isObject,
  type JsonObject,
  nameStr,
  obj,
  peerIp,
  pid,
  port,
  setTime,
  str,
  winStr,
} from '../fields.js';
import { DEFAULT_SEVERITY, nxlogSeverity, SEVERITY, windowsLevelSeverity } from '../severity.js';
import { EVENT_DATA_ORDER, LOGON_TYPES, SECURITY_EVENTS } from './security-events.js';

/**
 * Windows events as JSON, in the shapes real shippers send:
 * - NXLog `im_msvistalog` + `to_json()`: System fields at the top (EventID, Channel, Hostname,
 *   SourceName, EventTime, Keywords, EventType, Severity/SeverityValue…) and EventData flattened
 *   into top-level keys (TargetUserName, IpAddress…).
 * - Winlogbeat / Elastic Agent: `winlog.{event_id, channel, computer_name, provider_name, event_data,
 *   user_data, keywords}`, `@timestamp`, `event.code`, `log.level`, `message`.
 * - Fluent Bit `winevtlog`: EventID, Channel, Computer, ProviderName, TimeCreated, Level, Keywords and
 *   the EventData as positional `StringInserts` (or an `EventData` object).
 * - OpenWEC's JSON output: the event XML as `System.{EventID, Channel, Computer, Provider.Name,
 *   TimeCreated, Level, Keywords…}`, `EventData`/`UserData`, `RenderingInfo.{Message, Keywords}` and
 *   `OpenWEC.{IpAddress, TimeReceived, Principal}`.
 */

/** What one shipper shape says, read into one form. */
interface WinRecord {
  shipper: 'nxlog' | 'winlogbeat' | 'fluentbit' | 'openwec';
  code: string | null;
  channel: string | null;
  computer: string | null;
  provider: string | null;
  time: unknown[];
  data: JsonObject;
  level: unknown;
  nxlogSeverity: unknown;
  keywords: unknown;
  eventType: string | null;
  message: string | null;
  recordId: unknown;
  outcome: string | null;
}

/** NXLog's own fields; every other top-level key of an NXLog record is flattened EventData. */
const NXLOG_SYSTEM = new Set([
  'EventTime',
  'EventReceivedTime',
  'Hostname',
  'Keywords',
  'EventType',
  'SeverityValue',
  'Severity',
  'EventID',
  'SourceName',
  'ProviderGuid',
  'Version',
  'Task',
  'TaskValue',
  'Opcode',
  'OpcodeValue',
  'RecordNumber',
  'ActivityID',
  'ActivityId',
  'RelatedActivityID',
  'ProcessID',
  'ThreadID',
  'ExecutionProcessID',
  'ExecutionThreadID',
  'Channel',
  'Category',
  'Message',
  'SourceModuleName',
  'SourceModuleType',
  'Domain',
  'AccountName',
  'UserID',
  'AccountType',
  'Level',
  'LevelValue',
  'Computer',
  'MessageSourceAddress',
  'ERROR_EVT_UNRESOLVED',
]);

function codeOf(v: unknown): string | null {
  const s = str(v);
  return s !== null && /^\d{1,5}$/.test(s) ? String(Number(s)) : null;
}

function fromWinlogbeat(rec: JsonObject, winlog: JsonObject): WinRecord {
  const event = obj(rec.event) ?? {};
  const host = obj(rec.host) ?? {};
  const log = obj(rec.log) ?? {};
  const data = obj(winlog.event_data) ?? obj(winlog.user_data) ?? {};
  return {
    shipper: 'winlogbeat',
    code: codeOf(winlog.event_id) ?? codeOf(event.code),
    channel: str(winlog.channel),
    computer: str(winlog.computer_name) ?? str(host.hostname) ?? str(host.name),
    provider: str(winlog.provider_name) ?? str(event.provider),
    time: [rec['@timestamp'], winlog.time_created, event.created],
    data,
    level: log.level ?? winlog.level,
    nxlogSeverity: null,
    keywords: winlog.keywords,
    eventType: null,
    message: str(rec.message),
    recordId: winlog.record_id,
    outcome: str(event.outcome),
  };
}

function fromOpenWec(rec: JsonObject, system: JsonObject): WinRecord {
  const provider = obj(system.Provider) ?? {};
  const rendering = obj(rec.RenderingInfo) ?? {};
  const openwec = obj(rec.OpenWEC) ?? {};
  const keywords = Array.isArray(rendering.Keywords) ? rendering.Keywords.map(String) : [];
  return {
    shipper: 'openwec',
    code: codeOf(system.EventID),
    channel: str(system.Channel),
    computer: str(system.Computer),
    provider: str(provider.Name) ?? str(provider.EventSourceName),
    time: [system.TimeCreated, openwec.TimeReceived],
    data: obj(rec.EventData) ?? obj(rec.UserData) ?? {},
    level: system.Level,
    nxlogSeverity: null,
    keywords: system.Keywords,
    eventType: keywords.includes('Audit Failure')
      ? 'AUDIT_FAILURE'
      : keywords.includes('Audit Success')
        ? 'AUDIT_SUCCESS'
        : null,
    message: str(rendering.Message),
    recordId: system.EventRecordID,
    outcome: null,
  };
}

function fromFlat(rec: JsonObject): WinRecord {
  const nx = 'SourceName' in rec || 'Hostname' in rec || 'EventTime' in rec || 'SeverityValue' in rec;
  const code = codeOf(rec.EventID);
  let data: JsonObject;
  const eventData = rec.EventData;
  if (isObject(eventData)) data = eventData;
  else if (Array.isArray(rec.StringInserts)) {
    data = {};
    const order = code === null ? undefined : EVENT_DATA_ORDER[code];
    const inserts = rec.StringInserts;
    for (let i = 0; i < inserts.length; i++) data[order?.[i] ?? `param${i + 1}`] = inserts[i];
  } else if (nx) {
    data = {};
    for (const k in rec) if (!NXLOG_SYSTEM.has(k)) data[k] = rec[k];
  } else data = {};
  return {
    shipper: nx ? 'nxlog' : 'fluentbit',
    code,
    channel: str(rec.Channel),
    computer: str(rec.Hostname) ?? str(rec.Computer),
    provider: str(rec.SourceName) ?? str(rec.ProviderName),
    time: [rec.EventTime, rec.TimeCreated, rec.TimeGenerated],
    data,
    level: rec.Level,
    nxlogSeverity: rec.SeverityValue,
    keywords: rec.Keywords,
    eventType: str(rec.EventType),
    message: str(rec.Message),
    recordId: rec.RecordNumber ?? rec.EventRecordID,
    outcome: null,
  };
}

const AUDIT_SUCCESS = 0x0020000000000000n;
const AUDIT_FAILURE = 0x0010000000000000n;

/** Audit success/failure from the Keywords mask (number, decimal or hex string, or keyword names). */
export function auditResult(keywords: unknown, eventType: string | null): 'success' | 'failure' | null {
  if (eventType === 'AUDIT_SUCCESS') return 'success';
  if (eventType === 'AUDIT_FAILURE') return 'failure';
  if (Array.isArray(keywords)) {
    for (const k of keywords) {
      if (k === 'Audit Success') return 'success';
      if (k === 'Audit Failure') return 'failure';
    }
    return null;
  }
  let mask: bigint | null = null;
  try {
    if (typeof keywords === 'number' && Number.isFinite(keywords))
      mask = BigInt.asUintN(64, BigInt(Math.trunc(keywords)));
    else if (typeof keywords === 'string') {
      const s = keywords.trim();
      if (/^0x[0-9a-f]{1,16}$/i.test(s) || /^-?\d{1,20}$/.test(s)) mask = BigInt.asUintN(64, BigInt(s));
      else if (s.includes('Audit Success')) return 'success';
      else if (s.includes('Audit Failure')) return 'failure';
    }
  } catch {
    return null;
  }
  if (mask === null) return null;
  if ((mask & AUDIT_FAILURE) !== 0n) return 'failure';
  if ((mask & AUDIT_SUCCESS) !== 0n) return 'success';
  return null;
}

function isSecurityLog(w: WinRecord): boolean {
  const ch = w.channel?.toLowerCase();
  return (
    ch === 'security' ||
    w.provider === 'Microsoft-Windows-Security-Auditing' ||
    w.provider === 'Microsoft-Windows-Eventlog'
  );
}

function domainUser(name: string | null, domain: string | null): string | null {
  return name === null ? null : domain === null ? name : `${domain}\\${name}`;
}

/** Maps the fields of a recognised Security event (user, addresses, process, logon details). */
function mapSecurity(ev: NormalizedEvent, code: string, d: JsonObject): void {
  const spec = SECURITY_EVENTS[code]!;
  ev.action = spec.action;
  ev.category = spec.category;
  ev.classUid = spec.classUid;
  if (spec.outcome !== undefined) ev.outcome = spec.outcome;
  if (spec.severity !== undefined) ev.severity = spec.severity;
  const target = nameStr(d.TargetUserName);
  const targetDomain = winStr(d.TargetDomainName);
  const subject = nameStr(d.SubjectUserName);
  const subjectDomain = winStr(d.SubjectDomainName);
  let user: string | null;
  let domain: string | null;
  if (spec.user === 'subject' || (spec.user === 'target-else-subject' && target === null)) {
    user = subject;
    domain = subjectDomain;
    if (target !== null) ev.attrs.target_user = domainUser(target, targetDomain);
  } else {
    user = target;
    domain = targetDomain;
    if (subject !== null) ev.attrs.subject_user = domainUser(subject, subjectDomain);
  }
  ev.userName = user;
  if (domain !== null) ev.attrs.user_domain = domain;
  ev.srcIp = ip(d.IpAddress);
  ev.srcPort = port(d.IpPort);
  const logonType = str(d.LogonType);
  if (logonType !== null) {
    ev.attrs.logon_type = Number(logonType);
    const name = LOGON_TYPES[logonType];
    if (name !== undefined) ev.attrs.logon_type_name = name;
  }
  if (code === '4688') {
    ev.processName = winStr(d.NewProcessName);
    ev.processPid = pid(d.NewProcessId);
    const parent = winStr(d.ParentProcessName);
    if (parent !== null) ev.attrs.parent_process_name = parent;
    const ppid = pid(d.ProcessId);
    if (ppid !== null) ev.attrs.parent_process_pid = ppid;
    const cmd = winStr(d.CommandLine);
    if (cmd !== null) ev.attrs.command_line = cmd;
  } else {
    const pname = winStr(d.ProcessName);
    if (pname !== null) {
      ev.processName = pname;
      ev.processPid = pid(d.ProcessId);
    }
  }
  if (code === '4625') {
    const status = winStr(d.Status);
    if (status !== null) ev.attrs.status = status.toLowerCase();
    const sub = winStr(d.SubStatus);
    if (sub !== null) ev.attrs.sub_status = sub.toLowerCase();
    const reason = winStr(d.FailureReason);
    if (reason !== null) ev.attrs.failure_reason = reason;
  }
  const workstation = winStr(d.WorkstationName);
  if (workstation !== null) ev.attrs.workstation = workstation;
  const authPackage = winStr(d.AuthenticationPackageName);
  if (authPackage !== null) ev.attrs.auth_package = authPackage;
  const logonProcess = winStr(d.LogonProcessName);
  if (logonProcess !== null) ev.attrs.logon_process = logonProcess;
  if (code === '4648') {
    const server = winStr(d.TargetServerName);
    if (server !== null) ev.attrs.target_server = server;
  }
  if (code === '4672') {
    const privileges = winStr(d.PrivilegeList);
    if (privileges !== null) ev.attrs.privileges = privileges.split(/\s+/);
  }
}

export function normalizeWindowsRecord(
  raw: RawEvent,
  rec: JsonObject,
  eventId: string,
  rawText: string,
): NormalizedEvent {
  const winlog = obj(rec.winlog);
  const system = obj(rec.System);
  const w =
    winlog !== null
      ? fromWinlogbeat(rec, winlog)
      : system !== null
        ? fromOpenWec(rec, system)
        : fromFlat(rec);
  if (w.code === null) {
    fail(
      'not a Windows event: no EventID (NXLog, Fluent Bit), System.EventID (OpenWEC) or winlog.event_id (Winlogbeat)',
    );
  }
  const ev = emptyEvent(raw, 'windows', eventId, rawText);
  setTime(ev, ...w.time);
  ev.hostName = w.computer;
  ev.hostIp = ip(w.computer) ?? peerIp(raw);
  ev.appName = w.provider;
  ev.eventCode = w.code;
  const audit = auditResult(w.keywords, w.eventType);
  ev.outcome = audit ?? (w.outcome === 'success' || w.outcome === 'failure' ? w.outcome : 'unknown');
  ev.severity =
    windowsLevelSeverity(w.level) ??
    nxlogSeverity(w.nxlogSeverity) ??
    (audit === 'failure' ? SEVERITY.notice : DEFAULT_SEVERITY);
  // Security audit events are all "Information"/level 0; a failed audit is worth a notice.
  if (audit === 'failure' && ev.severity > SEVERITY.notice) ev.severity = SEVERITY.notice;
  if (isSecurityLog(w) && SECURITY_EVENTS[w.code] !== undefined) mapSecurity(ev, w.code, w.data);
  ev.message = w.message ?? SECURITY_EVENTS[w.code]?.message ?? `${w.provider ?? 'Windows'} event ${w.code}`;
  ev.attrs.shipper = w.shipper;
  if (w.channel !== null) ev.attrs.channel = w.channel;
  if (w.provider !== null) ev.attrs.provider = w.provider;
  if (w.computer !== null) ev.attrs.computer = w.computer;
  if (w.recordId !== undefined && w.recordId !== null) ev.attrs.record_id = w.recordId;
  const data = compact(w.data);
  if (Object.keys(data).length > 0) ev.attrs.event_data = data;
  return ev;
}
