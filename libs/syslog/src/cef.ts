import { splitPipeHeader } from './pipe-header.js';

/**
 * ArcSight Common Event Format inside a syslog MSG:
 *
 *   CEF:Version|Device Vendor|Device Product|Device Version|Signature ID|Name|Severity|Extension
 *
 * Header fields are separated by `|`; inside them only `\|` and `\\` are escapes. The extension is
 * `key=value` pairs separated by spaces where values may contain unescaped spaces (and pipes): a new
 * pair starts only where a space is followed by a key and an unescaped `=`. In values `\=`, `\\`, `\n`
 * and `\r` are escapes; any other backslash is kept as it is.
 */
export interface CefRecord {
  version: number;
  deviceVendor: string;
  deviceProduct: string;
  deviceVersion: string;
  signatureId: string;
  name: string;
  severity: string;
  /** Extension pairs; keys are as sent (a null-prototype object, so any key is safe). */
  extensions: Record<string, string>;
}

const BACKSLASH = 0x5c;
const PIPE = 0x7c;
const SPACE = 0x20;

function unescapeHeader(s: string): string {
  if (s.indexOf('\\') < 0) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === BACKSLASH && i + 1 < s.length) {
      const n = s.charCodeAt(i + 1);
      if (n === PIPE || n === BACKSLASH) {
        out += s[i + 1];
        i++;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

function unescapeValue(s: string): string {
  if (s.indexOf('\\') < 0) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === BACKSLASH && i + 1 < s.length) {
      const n = s[i + 1];
      if (n === '=' || n === '\\' || n === '|') {
        out += n;
        i++;
        continue;
      }
      if (n === 'n') {
        out += '\n';
        i++;
        continue;
      }
      if (n === 'r') {
        out += '\r';
        i++;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

/** Characters CEF keys are made of (the dictionary keys plus the dotted/indexed custom ones). */
function isKeyChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x30 && c <= 0x39) || // 0-9
    c === 0x5f || // _
    c === 0x2e || // .
    c === 0x2d || // -
    c === 0x5b || // [
    c === 0x5d // ]
  );
}

/**
 * Start of the key that ends just before the `=` at `eq`, or -1 when the text before it is not a key
 * preceded by a space (or the start of the extension).
 */
function keyStart(s: string, from: number, eq: number): number {
  let k = eq;
  while (k > from && isKeyChar(s.charCodeAt(k - 1))) k--;
  if (k === eq) return -1;
  if (k > from && s.charCodeAt(k - 1) !== SPACE) return -1;
  return k;
}

function isEscaped(s: string, i: number, from: number): boolean {
  let n = 0;
  for (let j = i - 1; j >= from && s.charCodeAt(j) === BACKSLASH; j--) n++;
  return (n & 1) === 1;
}

/** Parses the extension part (everything after the seventh unescaped pipe). */
export function parseCefExtension(s: string, from = 0): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  let key: string | null = null;
  let valueStart = 0;
  // the first backslash at or after `from`: an `=` before it cannot be escaped, a value before it
  // needs no unescaping (most extensions have no backslash at all)
  let bs = s.indexOf('\\', from);
  if (bs < 0) bs = s.length;
  let eq = s.indexOf('=', from);
  while (eq >= 0) {
    if (eq < bs || !isEscaped(s, eq, from)) {
      const k = keyStart(s, from, eq);
      if (k >= 0) {
        if (key !== null) out[key] = value(s, valueStart, k, false, bs);
        key = s.slice(k, eq);
        valueStart = eq + 1;
      }
    }
    eq = s.indexOf('=', eq + 1);
  }
  if (key !== null) out[key] = value(s, valueStart, s.length, true, bs);
  return out;
}

/** The value in `s[start, end)` less trailing spaces (and line ends for the last), unescaped. */
function value(s: string, start: number, end: number, last: boolean, firstBackslash: number): string {
  let e = end;
  while (e > start) {
    const c = s.charCodeAt(e - 1);
    if (c !== SPACE && !(last && (c === 0x0a || c === 0x0d || c === 0x09 || c === 0))) break;
    e--;
  }
  const v = s.slice(start, e);
  return firstBackslash < e ? unescapeValue(v) : v;
}

/** The last value also loses a trailing line end a sender may have left on the message. */
function trimEnd(s: string): string {
  let e = s.length;
  while (e > 0) {
    const c = s.charCodeAt(e - 1);
    if (c !== SPACE && c !== 0x0a && c !== 0x0d && c !== 0x09 && c !== 0) break;
    e--;
  }
  return e === s.length ? s : s.slice(0, e);
}

/** Index of the first `CEF:<digit>` in the text, or -1. */
export function findCef(message: string): number {
  let i = message.indexOf('CEF:');
  while (i >= 0) {
    let j = i + 4;
    while (message.charCodeAt(j) === SPACE) j++;
    const c = message.charCodeAt(j);
    if (c >= 0x30 && c <= 0x39) return i;
    i = message.indexOf('CEF:', i + 4);
  }
  return -1;
}

/**
 * The CEF record in a syslog MSG, or null when the message holds none. Text before `CEF:` (a legacy
 * header a device put into the message) is skipped. A record with fewer than the seven header fields
 * is not CEF.
 */
export function parseCef(message: string): CefRecord | null {
  const start = findCef(message);
  if (start < 0) return null;
  // Split the header on unescaped pipes: version, vendor, product, device version, id, name, severity.
  const fields: string[] = [];
  const fieldStart = splitPipeHeader(message, start + 4, 7, fields);
  const n = message.length;
  let extFrom: number;
  if (fields.length === 7) {
    extFrom = fieldStart;
  } else if (fields.length === 6) {
    // `CEF:0|…|Severity` without the trailing pipe: the rest is the severity, no extension.
    fields.push(trimEnd(message.slice(fieldStart)));
    extFrom = n;
  } else {
    return null;
  }
  const version = Number.parseInt(fields[0]!.trim(), 10);
  if (!Number.isInteger(version)) return null;
  return {
    version,
    deviceVendor: unescapeHeader(fields[1]!),
    deviceProduct: unescapeHeader(fields[2]!),
    deviceVersion: unescapeHeader(fields[3]!),
    signatureId: unescapeHeader(fields[4]!),
    name: unescapeHeader(fields[5]!),
    severity: unescapeHeader(fields[6]!.trim()),
    extensions: extFrom >= n ? Object.create(null) : parseCefExtension(message, skipSpaces(message, extFrom)),
  };
}

function skipSpaces(s: string, i: number): number {
  while (s.charCodeAt(i) === SPACE) i++;
  return i;
}
