import type { NormalizedEvent } from '@siem/core';
import { ip, nameStr, port } from '../fields.js';
import { SEVERITY } from '../severity.js';

/**
 * Field extraction for Unix authentication messages: OpenSSH `sshd`, `sudo`, and PAM (`pam_unix` and
 * other `pam_*` modules, whatever program logs them). The patterns follow the message formats in the
 * OpenSSH (auth.c), sudo (logging.c) and Linux-PAM (pam_unix) sources.
 */

const OCSF_AUTHENTICATION = 3002;
const OCSF_PROCESS_ACTIVITY = 1007;

const SSH_ACCEPTED = /^Accepted (\S+) for (.+?) from (\S+) port (\d+)/;
const SSH_FAILED = /^Failed (\S+) for (invalid user )?(.*?) from (\S+) port (\d+)/;
const SSH_INVALID = /^Invalid user (.*?) from (\S+)(?: port (\d+))?/;
const SSH_MAX_TRIES =
  /^error: maximum authentication attempts exceeded for (invalid user )?(\S+) from (\S+) port (\d+)/;
const PAM = /^pam_(\w+)\(([^:)]+):(\w+)\): (.*)$/;
const PAM_SESSION =
  /^session (opened|closed) for user ([^\s(]+)(?:\(uid=\d+\))?(?: by ([^\s(]*)(?:\(uid=(\d+)\))?)?/;
const SUDO = /^\s*(\S+) : (.*)$/;

/** Failures are at least `notice`, whatever facility/severity the sender's syslog used. */
function raiseToNotice(ev: NormalizedEvent): void {
  if (ev.severity > SEVERITY.notice) ev.severity = SEVERITY.notice;
}

function authentication(ev: NormalizedEvent, outcome: 'success' | 'failure', action: string): void {
  ev.category = 'authentication';
  ev.classUid = OCSF_AUTHENTICATION;
  ev.outcome = outcome;
  ev.action = action;
  if (outcome === 'failure') raiseToNotice(ev);
}

/** A remote host from `rhost=`/`from`: an IP goes to srcIp, a name to attrs. */
function remote(ev: NormalizedEvent, host: string | undefined): void {
  if (host === undefined || host.length === 0) return;
  const addr = ip(host);
  if (addr !== null) ev.srcIp = addr;
  else ev.attrs.src_host = host;
}

function sshd(ev: NormalizedEvent, msg: string): boolean {
  let m = SSH_ACCEPTED.exec(msg);
  if (m !== null) {
    authentication(ev, 'success', 'logon');
    ev.userName = nameStr(m[2]);
    ev.attrs.auth_method = m[1];
    remote(ev, m[3]);
    ev.srcPort = port(m[4]);
    return true;
  }
  m = SSH_FAILED.exec(msg);
  if (m !== null) {
    authentication(ev, 'failure', 'logon-failed');
    ev.userName = nameStr(m[3]);
    ev.attrs.auth_method = m[1];
    if (m[2] !== undefined) ev.attrs.invalid_user = true;
    remote(ev, m[4]);
    ev.srcPort = port(m[5]);
    return true;
  }
  m = SSH_INVALID.exec(msg);
  if (m !== null) {
    authentication(ev, 'failure', 'logon-failed');
    ev.userName = nameStr(m[1]);
    ev.attrs.invalid_user = true;
    remote(ev, m[2]);
    ev.srcPort = port(m[3]);
    return true;
  }
  m = SSH_MAX_TRIES.exec(msg);
  if (m !== null) {
    authentication(ev, 'failure', 'logon-failed');
    ev.userName = nameStr(m[2]);
    if (m[1] !== undefined) ev.attrs.invalid_user = true;
    ev.attrs.reason = 'maximum authentication attempts exceeded';
    remote(ev, m[3]);
    ev.srcPort = port(m[4]);
    return true;
  }
  return false;
}

/** `key=value` pairs separated by spaces, where values may be empty (`ruser= rhost=1.2.3.4`). */
function pamPairs(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of s.split(/\s+/)) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

function pam(ev: NormalizedEvent, msg: string): boolean {
  const m = PAM.exec(msg);
  if (m === null) return false;
  const [, module, service, kind, body] = m as unknown as [string, string, string, string, string];
  ev.attrs.pam_module = `pam_${module}`;
  ev.attrs.pam_service = service;
  if (body.startsWith('authentication failure')) {
    authentication(ev, 'failure', 'logon-failed');
    const kv = pamPairs(body.slice(body.indexOf(';') + 1));
    ev.userName = nameStr(kv.user) ?? nameStr(kv.ruser) ?? nameStr(kv.logname);
    remote(ev, kv.rhost);
    if (kv.tty) ev.attrs.tty = kv.tty;
    if (kv.ruser) ev.attrs.remote_user = kv.ruser;
    return true;
  }
  const s = PAM_SESSION.exec(body);
  if (s !== null) {
    authentication(ev, 'success', s[1] === 'opened' ? 'session-opened' : 'session-closed');
    ev.userName = nameStr(s[2]);
    if (s[3]) ev.attrs.by_user = s[3];
    if (s[4] !== undefined) ev.attrs.by_uid = Number(s[4]);
    return true;
  }
  if (kind === 'auth' && body.includes('user unknown')) {
    authentication(ev, 'failure', 'logon-failed');
    ev.attrs.reason = 'user unknown';
    return true;
  }
  return false;
}

function sudo(ev: NormalizedEvent, msg: string): boolean {
  const m = SUDO.exec(msg);
  if (m === null || !m[2]!.includes('COMMAND=')) return false;
  const fields: Record<string, string> = {};
  let reason: string | null = null;
  for (const part of m[2]!.split(' ; ')) {
    const eq = part.indexOf('=');
    if (eq > 0 && /^[A-Z_]+$/.test(part.slice(0, eq))) fields[part.slice(0, eq)] = part.slice(eq + 1);
    else if (reason === null) reason = part.trim();
  }
  ev.userName = nameStr(m[1]);
  if (fields.USER !== undefined) ev.attrs.target_user = fields.USER;
  if (fields.COMMAND !== undefined) ev.attrs.command = fields.COMMAND;
  if (fields.PWD !== undefined) ev.attrs.cwd = fields.PWD;
  if (fields.TTY !== undefined) ev.attrs.tty = fields.TTY;
  if (reason === null) {
    // sudo ran the command: a process launch on behalf of the user.
    ev.category = 'process';
    ev.classUid = OCSF_PROCESS_ACTIVITY;
    ev.outcome = 'success';
    ev.action = 'sudo';
  } else {
    authentication(ev, 'failure', 'sudo');
    ev.attrs.reason = reason;
  }
  return true;
}

/** Tries the patterns that fit the program; returns whether the message was recognised. */
export function extractAuth(ev: NormalizedEvent, app: string | null, msg: string): boolean {
  if (msg.startsWith('pam_')) return pam(ev, msg);
  if (app === 'sshd') return sshd(ev, msg);
  if (app === 'sudo') return sudo(ev, msg);
  return false;
}
