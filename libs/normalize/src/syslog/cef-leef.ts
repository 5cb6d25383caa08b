import type { NormalizedEvent } from '@siem/core';
import { parseCef, parseLeef } from '@siem/syslog';
import { ip, nameStr, parseTime, pid, port } from '../fields.js';
import { cefSeverity, leefSeverity } from '../severity.js';

/**
 * Vendor fields of CEF (ArcSight "Implementing ArcSight Common Event Format", extension dictionary)
 * and LEEF (IBM QRadar "Log Event Extended Format", predefined attributes) mapped onto the row.
 * Parsing is @siem/syslog's; this file only maps.
 */

const OCSF_AUTHENTICATION = 3002;
const MONTHS: Record<string, string> = {
  Jan: '01',
  Feb: '02',
  Mar: '03',
  Apr: '04',
  May: '05',
  Jun: '06',
  Jul: '07',
  Aug: '08',
  Sep: '09',
  Oct: '10',
  Nov: '11',
  Dec: '12',
};
// CEF `rt` and LEEF `devTime` default: "MMM dd yyyy HH:mm:ss[.SSS][ zone]"
const MONTH_TIME =
  /^([A-Z][a-z]{2}) (\d{1,2}) (\d{4}) (\d{2}:\d{2}:\d{2})(\.\d{1,3})?(?: (Z|UTC|GMT|[+-]\d{2}:?\d{2}))?$/;

/** The time formats CEF and LEEF senders use: epoch ms, ISO 8601, or "MMM dd yyyy HH:mm:ss". */
function vendorTime(ev: NormalizedEvent, v: string | undefined, headerHasTime: boolean): boolean {
  if (v === undefined) return false;
  const t = parseTime(v);
  if (t !== null) {
    if (t.assumedUtc && headerHasTime) return false;
    ev.time = t.iso;
    if (t.assumedUtc) ev.attrs.time_zone_assumed = 'UTC';
    return true;
  }
  const m = MONTH_TIME.exec(v.trim());
  const month = m === null ? undefined : MONTHS[m[1]!];
  if (m === null || month === undefined) return false;
  const zone = m[6] === undefined ? null : m[6] === 'UTC' || m[6] === 'GMT' ? 'Z' : m[6];
  if (zone === null && headerHasTime) return false;
  const p = parseTime(`${m[3]}-${month}-${m[2]!.padStart(2, '0')}T${m[4]}${m[5] ?? ''}${zone ?? ''}`);
  if (p === null) return false;
  ev.time = p.iso;
  if (p.assumedUtc) ev.attrs.time_zone_assumed = 'UTC';
  return true;
}

function outcomeWord(v: string | undefined): 'success' | 'failure' | null {
  if (v === undefined) return null;
  const s = v.toLowerCase();
  if (s.includes('success') || s === 'allow' || s === 'allowed' || s === 'accept') return 'success';
  if (
    s.includes('fail') ||
    s === 'deny' ||
    s === 'denied' ||
    s === 'blocked' ||
    s === 'block' ||
    s === 'drop'
  )
    return 'failure';
  return null;
}

const AUTH_WORDS = /\b(log[ -]?on|log[ -]?in|sign[ -]?in|authenticat)/i;

export function tryCef(ev: NormalizedEvent, msg: string, headerHasTime: boolean): boolean {
  const rec = parseCef(msg);
  if (rec === null) return false;
  const x = rec.extensions;
  vendorTime(ev, x.rt ?? x.end ?? x.start, headerHasTime);
  ev.severity = cefSeverity(rec.severity) ?? ev.severity;
  ev.eventCode = rec.signatureId || null;
  if (ev.appName === null) ev.appName = rec.deviceProduct || null;
  const dvchost = nameStr(x.dvchost);
  if (dvchost !== null) ev.hostName = dvchost;
  const dvc = ip(x.dvc);
  if (dvc !== null) ev.hostIp = dvc;
  ev.srcIp = ip(x.src) ?? ip(x.c6a2);
  ev.dstIp = ip(x.dst) ?? ip(x.c6a3);
  ev.srcPort = port(x.spt);
  ev.dstPort = port(x.dpt);
  ev.userName = nameStr(x.suser) ?? nameStr(x.duser);
  const proc = nameStr(x.sproc) ?? nameStr(x.dproc);
  if (proc !== null) {
    ev.processName = proc;
    ev.processPid = pid(x.spid ?? x.dpid);
  }
  ev.action = nameStr(x.act);
  ev.message = nameStr(x.msg) ?? (rec.name || ev.message);
  ev.outcome = outcomeWord(x.outcome) ?? outcomeWord(x.act) ?? ev.outcome;
  if (AUTH_WORDS.test(rec.name) || AUTH_WORDS.test(x.cat ?? '')) {
    ev.category = 'authentication';
    ev.classUid = OCSF_AUTHENTICATION;
  } else if (ev.srcIp !== null || ev.dstIp !== null) ev.category = 'network';
  ev.attrs.vendor = rec.deviceVendor;
  ev.attrs.cef = {
    version: rec.version,
    device_vendor: rec.deviceVendor,
    device_product: rec.deviceProduct,
    device_version: rec.deviceVersion,
    signature_id: rec.signatureId,
    name: rec.name,
    severity: rec.severity,
    extensions: { ...x },
  };
  return true;
}

export function tryLeef(ev: NormalizedEvent, msg: string, headerHasTime: boolean): boolean {
  const rec = parseLeef(msg);
  if (rec === null) return false;
  const a = rec.attributes;
  vendorTime(ev, a.devTime, headerHasTime);
  ev.severity = leefSeverity(a.sev) ?? ev.severity;
  ev.eventCode = rec.eventId || null;
  if (ev.appName === null) ev.appName = rec.product || null;
  const identHost = nameStr(a.identHostName);
  if (identHost !== null) ev.attrs.ident_host = identHost;
  ev.srcIp = ip(a.src) ?? ip(a.srcPreNAT);
  ev.dstIp = ip(a.dst) ?? ip(a.dstPreNAT);
  ev.srcPort = port(a.srcPort) ?? port(a.srcPreNATPort);
  ev.dstPort = port(a.dstPort) ?? port(a.dstPreNATPort);
  ev.userName = nameStr(a.usrName) ?? nameStr(a.accountName);
  ev.action = nameStr(a.action) ?? nameStr(a.act);
  ev.outcome = outcomeWord(a.outcome) ?? outcomeWord(a.action) ?? ev.outcome;
  ev.message = nameStr(a.msg) ?? nameStr(a.message) ?? `${rec.vendor} ${rec.product} event ${rec.eventId}`;
  if (a.isLoginEvent === 'true' || a.isLogoutEvent === 'true' || AUTH_WORDS.test(a.cat ?? '')) {
    ev.category = 'authentication';
    ev.classUid = OCSF_AUTHENTICATION;
    if (ev.action === null) ev.action = a.isLogoutEvent === 'true' ? 'logoff' : 'logon';
  } else if (ev.srcIp !== null || ev.dstIp !== null) ev.category = 'network';
  ev.attrs.vendor = rec.vendor;
  ev.attrs.leef = {
    version: rec.version,
    vendor: rec.vendor,
    product: rec.product,
    product_version: rec.productVersion,
    event_id: rec.eventId,
    attributes: { ...a },
  };
  return true;
}
