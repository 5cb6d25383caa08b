import type { NormalizedEvent } from '@siem/core';
import { ip, nameStr, parseTime, port } from '../fields.js';
import { fortigateSeverity } from '../severity.js';

/**
 * FortiGate (FortiOS) key=value logs: `date=… time=… logid="…" type="traffic" subtype="forward" …`.
 * Field names follow the FortiOS Log Message Reference. Values are bare words or double-quoted
 * strings (`\"` escapes a quote inside).
 */

/** Parses `k=v k="v w"` pairs. Returns null when the text is not key=value shaped. */
export function parseKeyValue(s: string): Record<string, string> | null {
  const out: Record<string, string> = {};
  const n = s.length;
  let i = 0;
  let count = 0;
  while (i < n) {
    while (i < n && (s.charCodeAt(i) === 32 || s.charCodeAt(i) === 9)) i++;
    if (i >= n) break;
    const keyStart = i;
    while (i < n) {
      const c = s.charCodeAt(i);
      // key characters: a-z A-Z 0-9 _ - .
      if (
        (c >= 97 && c <= 122) ||
        (c >= 65 && c <= 90) ||
        (c >= 48 && c <= 57) ||
        c === 95 ||
        c === 45 ||
        c === 46
      )
        i++;
      else break;
    }
    if (i === keyStart || i >= n || s.charCodeAt(i) !== 61 /* = */) {
      if (count === 0) return null;
      // Stray text: skip to the next space and keep going.
      while (i < n && s.charCodeAt(i) !== 32) i++;
      continue;
    }
    const key = s.slice(keyStart, i);
    i++;
    let value: string;
    if (i < n && s.charCodeAt(i) === 34 /* " */) {
      i++;
      let buf = '';
      let start = i;
      while (i < n && s.charCodeAt(i) !== 34) {
        if (s.charCodeAt(i) === 92 /* \ */ && i + 1 < n) {
          buf += s.slice(start, i);
          i++;
          start = i;
        }
        i++;
      }
      value = buf + s.slice(start, i);
      i++;
    } else {
      const start = i;
      while (i < n && s.charCodeAt(i) !== 32) i++;
      value = s.slice(start, i);
    }
    out[key] = value;
    count++;
  }
  return count === 0 ? null : out;
}

export function looksLikeFortigate(msg: string): boolean {
  return (
    (msg.startsWith('date=') ||
      msg.startsWith('logver=') ||
      msg.startsWith('devname=') ||
      msg.startsWith('eventtime=')) &&
    msg.includes('logid=')
  );
}

const SUCCESS_ACTIONS = new Set([
  'accept',
  'close',
  'timeout',
  'server-rst',
  'client-rst',
  'start',
  'ip-conn',
  'pass',
  'passthrough',
  'allow',
  'detected',
  'monitored',
  'login',
  'logout',
]);
const FAILURE_ACTIONS = new Set([
  'deny',
  'block',
  'blocked',
  'dropped',
  'drop',
  'reject',
  'reset',
  'clear_session',
]);

const OCSF_NETWORK = 4001;
const OCSF_HTTP = 4002;
const OCSF_DNS = 4003;
const OCSF_AUTHENTICATION = 3002;
const OCSF_DETECTION = 2004;

function fortiTime(kv: Record<string, string>): string | null {
  if (kv.date !== undefined && kv.time !== undefined) {
    const tz = kv.tz !== undefined && /^[+-]\d{4}$/.test(kv.tz) ? kv.tz : '';
    const t = parseTime(`${kv.date}T${kv.time}${tz}`);
    if (t !== null && !t.assumedUtc) return t.iso;
  }
  if (kv.eventtime !== undefined) {
    const t = parseTime(kv.eventtime);
    if (t !== null) return t.iso;
  }
  return null;
}

export function mapFortigate(ev: NormalizedEvent, kv: Record<string, string>, headerHasTime: boolean): void {
  const t = fortiTime(kv);
  if (t !== null) ev.time = t;
  else if (!headerHasTime && kv.date !== undefined && kv.time !== undefined) {
    const u = parseTime(`${kv.date}T${kv.time}`);
    if (u !== null) {
      ev.time = u.iso;
      ev.attrs.time_zone_assumed = 'UTC';
    }
  }
  if (kv.devname !== undefined) ev.hostName = kv.devname;
  if (ev.appName === null) ev.appName = 'FortiGate';
  ev.eventCode = kv.logid ?? null;
  ev.severity = fortigateSeverity(kv.level ?? null) ?? ev.severity;
  ev.srcIp = ip(kv.srcip);
  ev.srcPort = port(kv.srcport);
  ev.dstIp = ip(kv.dstip);
  ev.dstPort = port(kv.dstport);
  ev.userName = nameStr(kv.user) ?? nameStr(kv.srcuser) ?? nameStr(kv.unauthuser);
  const action = kv.action ?? null;
  ev.action = action;
  if (kv.msg !== undefined) ev.message = kv.msg;
  else if (kv.logdesc !== undefined) ev.message = kv.logdesc;

  const type = kv.type ?? '';
  const subtype = kv.subtype ?? '';
  const status = (kv.status ?? '').toLowerCase();
  if (type === 'traffic') {
    ev.category = 'network';
    ev.classUid = OCSF_NETWORK;
  } else if (type === 'utm') {
    ev.category = 'network';
    if (subtype === 'ips' || subtype === 'virus' || subtype === 'anomaly' || subtype === 'dlp') {
      ev.classUid = OCSF_DETECTION;
    } else if (subtype === 'webfilter') ev.classUid = OCSF_HTTP;
    else if (subtype === 'dns') ev.classUid = OCSF_DNS;
    else ev.classUid = OCSF_NETWORK;
  } else if (type === 'event') {
    const desc = (kv.logdesc ?? '').toLowerCase();
    if (subtype === 'user' || action === 'login' || action === 'logout' || desc.includes('login')) {
      ev.category = 'authentication';
      ev.classUid = OCSF_AUTHENTICATION;
    } else if (kv.cfgpath !== undefined || desc.includes('configured') || desc.includes('config')) {
      ev.category = 'configuration';
    } else {
      ev.category = 'audit';
    }
  }
  if (status === 'success') ev.outcome = 'success';
  else if (status === 'failed' || status === 'failure') ev.outcome = 'failure';
  else if (action !== null) {
    const a = action.toLowerCase();
    if (FAILURE_ACTIONS.has(a)) ev.outcome = 'failure';
    else if (SUCCESS_ACTIONS.has(a)) ev.outcome = 'success';
  }
  if (kv.devid !== undefined) ev.attrs.device_id = kv.devid;
  ev.attrs.vendor = 'Fortinet';
  ev.attrs.fortigate = kv;
}
