import { splitPipeHeader } from './pipe-header.js';

/**
 * IBM QRadar Log Event Extended Format inside a syslog MSG:
 *
 *   LEEF:1.0|Vendor|Product|Version|EventID|key=value<TAB>key=value…
 *   LEEF:2.0|Vendor|Product|Version|EventID|DelimiterCharacter|key=value^key=value…
 *
 * The LEEF 2.0 delimiter is one character or its code as hex (`x5E`, `0x5E`); when the field is
 * missing (a 2.0 header whose sixth field already holds `key=value`) the tab of 1.0 applies. Header
 * fields may carry `\|`; attribute values may carry `\=`, `\|` and an escaped delimiter. LEEF 1.0
 * senders that separate attributes with spaces instead of tabs (common in practice) are split where a
 * space is followed by `key=`, like CEF.
 */
export interface LeefRecord {
  version: string;
  vendor: string;
  product: string;
  productVersion: string;
  eventId: string;
  /** The attribute delimiter in effect (`\t` for LEEF 1.0; ` ` when a 1.0 sender used spaces). */
  delimiter: string;
  /** Attributes; keys are as sent (a null-prototype object, so any key is safe). */
  attributes: Record<string, string>;
}

const BACKSLASH = 0x5c;
const SPACE = 0x20;

function unescapeHeader(s: string): string {
  return s.indexOf('\\|') < 0 ? s.trim() : s.replaceAll('\\|', '|').trim();
}

function unescapeValue(s: string, delimiter: string): string {
  if (s.indexOf('\\') < 0) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) === BACKSLASH && i + 1 < s.length) {
      const n = s[i + 1]!;
      if (n === '=' || n === '|' || n === delimiter) {
        out += n;
        i++;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

function trimLineEnd(s: string): string {
  let e = s.length;
  while (e > 0) {
    const c = s.charCodeAt(e - 1);
    if (c !== 0x0a && c !== 0x0d && c !== 0 && c !== SPACE) break;
    e--;
  }
  return e === s.length ? s : s.slice(0, e);
}

/** The LEEF 2.0 delimiter field as a character, or null when the field is not a delimiter. */
function delimiterOf(field: string): string | null {
  const f = field.trim();
  if (f.length === 1) return f;
  const hex = /^(?:0x|x)([0-9a-fA-F]{1,4})$/.exec(f);
  if (hex !== null) return String.fromCharCode(Number.parseInt(hex[1]!, 16));
  if (f === '\\t') return '\t';
  return null;
}

function splitByDelimiter(s: string, from: number, delimiter: string, out: Record<string, string>): void {
  const n = s.length;
  const hasBackslash = s.indexOf('\\', from) >= 0;
  let start = from;
  while (start < n) {
    let d = s.indexOf(delimiter, start);
    // an escaped delimiter belongs to the value
    while (hasBackslash && d > start && s.charCodeAt(d - 1) === BACKSLASH) d = s.indexOf(delimiter, d + 1);
    const end = d < 0 ? n : d;
    addPair(s, start, end, delimiter, hasBackslash, out);
    if (d < 0) break;
    start = d + 1;
  }
}

function addPair(
  s: string,
  start: number,
  end: number,
  delimiter: string,
  hasBackslash: boolean,
  out: Record<string, string>,
): void {
  let eq = s.indexOf('=', start);
  while (hasBackslash && eq > start && eq < end && s.charCodeAt(eq - 1) === BACKSLASH)
    eq = s.indexOf('=', eq + 1);
  if (eq <= start || eq >= end) return;
  let ks = start;
  let ke = eq;
  while (ks < ke && s.charCodeAt(ks) <= SPACE) ks++;
  while (ke > ks && s.charCodeAt(ke - 1) <= SPACE) ke--;
  if (ke === ks) return;
  let ve = end;
  while (ve > eq + 1) {
    const c = s.charCodeAt(ve - 1);
    if (c !== 0x0a && c !== 0x0d && c !== 0 && c !== SPACE) break;
    ve--;
  }
  const v = s.slice(eq + 1, ve);
  out[s.slice(ks, ke)] = hasBackslash ? unescapeValue(v, delimiter) : v;
}

function isKeyChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x5f ||
    c === 0x2e ||
    c === 0x2d
  );
}

/** Splits `k=v k2=v with spaces k3=v` where a pair starts at a space followed by `key=`. */
function splitBySpaceKeys(s: string, from: number, out: Record<string, string>): void {
  let key: string | null = null;
  let valueStart = 0;
  let eq = s.indexOf('=', from);
  while (eq >= 0) {
    if (s.charCodeAt(eq - 1) !== BACKSLASH) {
      let k = eq;
      while (k > from && isKeyChar(s.charCodeAt(k - 1))) k--;
      if (k < eq && (k === from || s.charCodeAt(k - 1) === SPACE)) {
        if (key !== null) out[key] = unescapeValue(s.slice(valueStart, k).trimEnd(), ' ');
        key = s.slice(k, eq);
        valueStart = eq + 1;
      }
    }
    eq = s.indexOf('=', eq + 1);
  }
  if (key !== null) out[key] = unescapeValue(trimLineEnd(s.slice(valueStart)), ' ');
}

/** Index of the first `LEEF:<digit>` in the text, or -1. */
export function findLeef(message: string): number {
  let i = message.indexOf('LEEF:');
  while (i >= 0) {
    const c = message.charCodeAt(i + 5);
    if (c >= 0x30 && c <= 0x39) return i;
    i = message.indexOf('LEEF:', i + 5);
  }
  return -1;
}

/**
 * The LEEF record in a syslog MSG, or null when the message holds none. Text before `LEEF:` (a legacy
 * header inside the message) is skipped.
 */
export function parseLeef(message: string): LeefRecord | null {
  const start = findLeef(message);
  if (start < 0) return null;
  const fields: string[] = [];
  const fieldStart = splitPipeHeader(message, start + 5, 6, fields);
  const n = message.length;
  if (fields.length < 5) return null;
  const version = fields[0]!.trim();
  let attrFrom: number;
  let delimiter = '\t';
  const major = Number.parseInt(version, 10);
  if (major >= 2 && fields.length === 6) {
    const d = fields[5]!.includes('=') ? null : delimiterOf(fields[5]!);
    if (d !== null) {
      delimiter = d;
      attrFrom = fieldStart;
    } else {
      attrFrom = fieldStart - fields[5]!.length - 1; // no delimiter field: attributes start after EventID
    }
  } else {
    // LEEF 1.0 (or a 2.0 header that ends at EventID): attributes start after the fifth pipe.
    attrFrom = fields.length === 6 ? fieldStart - fields[5]!.length - 1 : fieldStart;
  }
  const attributes: Record<string, string> = Object.create(null);
  if (attrFrom < n) {
    if (delimiter === '\t' && message.indexOf('\t', attrFrom) < 0) {
      delimiter = ' ';
      splitBySpaceKeys(message, attrFrom, attributes);
    } else {
      splitByDelimiter(message, attrFrom, delimiter, attributes);
    }
  }
  return {
    version,
    vendor: unescapeHeader(fields[1]!),
    product: unescapeHeader(fields[2]!),
    productVersion: unescapeHeader(fields[3]!),
    eventId: unescapeHeader(fields[4]!),
    delimiter,
    attributes,
  };
}
