import type { NormalizedEvent, RawEvent } from '@siem/core';
import { emptyEvent, ip, nameStr, peerIp, pgText, pid, setTime } from '../fields.js';
import { DEFAULT_SEVERITY } from '../severity.js';
import { extractAuth } from './auth.js';
import { tryCef, tryLeef } from './cef-leef.js';
import { looksLikeFortigate, mapFortigate, parseKeyValue } from './fortigate.js';
import { mapPanos, panosType } from './panos.js';

/**
 * syslog (RFC 3164 / RFC 5424). The gateway has already parsed the header (RawEvent.syslog); MSG
 * starts at `msgOffset` bytes into the payload. The message is then recognised, cheapest test
 * first: CEF, LEEF, FortiGate key=value, PAN-OS CSV, and sshd/sudo/PAM authentication; anything else
 * is kept as a plain message.
 */

const PRI_RE = /^<(\d{1,3})>/;

function stripBom(s: string): string {
  return s.charCodeAt(0) === 0xfeff ? s.slice(1) : s;
}

function trimEnd(s: string): string {
  let end = s.length;
  while (end > 0) {
    const c = s.charCodeAt(end - 1);
    if (c === 10 || c === 13 || c === 0) end--;
    else break;
  }
  return end === s.length ? s : s.slice(0, end);
}

export function normalizeSyslog(raw: RawEvent, eventId: string): NormalizedEvent {
  const text = raw.payload.toString('utf8');
  const ev = emptyEvent(raw, 'syslog', eventId, text);
  const h = raw.syslog;
  let msg: string;
  let severity: number | null = null;
  if (h !== null && h.msgOffset !== null && h.msgOffset >= 0 && h.msgOffset <= raw.payload.length) {
    msg = raw.payload.subarray(h.msgOffset).toString('utf8');
  } else {
    // No usable header: keep what a PRI still tells, the message is the whole payload after it.
    const m = PRI_RE.exec(text);
    if (m !== null) {
      const pri = Number(m[1]);
      if (pri <= 191) {
        severity = pri & 7;
        ev.attrs.facility = pri >> 3;
      }
      msg = text.slice(m[0].length);
    } else msg = text;
  }
  msg = trimEnd(stripBom(msg));
  if (h !== null) {
    severity = h.severity ?? severity;
    setTime(ev, h.timestamp);
    ev.hostName = nameStr(h.hostname);
    ev.appName = nameStr(h.appName);
    const procPid = pid(h.procId);
    if (ev.appName !== null) ev.processName = ev.appName;
    if (procPid !== null) ev.processPid = procPid;
    ev.eventCode = nameStr(h.msgId);
    if (h.facility !== null) ev.attrs.facility = h.facility;
    ev.attrs.syslog_format = h.format;
    if (h.procId !== null && procPid === null) ev.attrs.proc_id = h.procId;
    if (h.structuredData !== null && Object.keys(h.structuredData).length > 0) {
      ev.attrs.structured_data = h.structuredData;
    }
  }
  ev.severity = severity ?? DEFAULT_SEVERITY;
  ev.hostIp = ip(ev.hostName) ?? peerIp(raw);
  ev.message = pgText(msg.trim());
  if (raw.marks.length > 0) ev.attrs.marks = raw.marks;
  if (raw.parseError !== null) ev.attrs.parse_error = raw.parseError;
  extract(ev, msg, ev.time !== raw.receivedAt);
  return ev;
}

function extract(ev: NormalizedEvent, msg: string, headerHasTime: boolean): void {
  // CEF/LEEF may follow text the header parser left in MSG ("JATP: CEF:0|…"); the parsers skip it.
  const cef = msg.indexOf('CEF:');
  if (cef >= 0 && cef < 64 && tryCef(ev, msg, headerHasTime)) return;
  const leef = msg.indexOf('LEEF:');
  if (leef >= 0 && leef < 64 && tryLeef(ev, msg, headerHasTime)) return;
  if (looksLikeFortigate(msg)) {
    const kv = parseKeyValue(msg);
    if (kv !== null) {
      mapFortigate(ev, kv, headerHasTime);
      return;
    }
  }
  const pan = panosType(msg);
  if (pan !== null) {
    mapPanos(ev, msg, pan, headerHasTime);
    return;
  }
  extractAuth(ev, ev.appName, msg);
}
