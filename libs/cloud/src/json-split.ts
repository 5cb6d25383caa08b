/**
 * Byte positions inside a JSON document that JSON.parse has already accepted, so each record of a
 * batch can be passed on exactly as the sender wrote it (its own bytes, not a re-serialisation). The
 * scanner only needs to tell strings (with their escapes) from structure; every byte of a multi-byte
 * UTF-8 character is ≥ 0x80, so it can never be taken for a quote, a bracket or a comma.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

export function skipWhitespace(b: Buffer, i: number): number {
  while (i < b.length) {
    const c = b[i]!;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

/** The index just past the string that starts at `i` (a quote). */
function skipString(b: Buffer, i: number): number {
  let from = i + 1;
  for (;;) {
    const q = b.indexOf(QUOTE, from);
    if (q < 0) throw new Error('unterminated string');
    let k = q - 1;
    let backslashes = 0;
    while (b[k] === BACKSLASH) {
      backslashes++;
      k--;
    }
    if (backslashes % 2 === 0) return q + 1;
    from = q + 1;
  }
}

/** The index just past the value that starts at `i`. */
export function skipValue(b: Buffer, i: number): number {
  const c = b[i]!;
  if (c === QUOTE) return skipString(b, i);
  if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
    let depth = 0;
    let p = i;
    while (p < b.length) {
      const x = b[p]!;
      if (x === QUOTE) {
        p = skipString(b, p);
        continue;
      }
      if (x === OPEN_OBJECT || x === OPEN_ARRAY) depth++;
      else if (x === CLOSE_OBJECT || x === CLOSE_ARRAY) {
        depth--;
        if (depth === 0) return p + 1;
      }
      p++;
    }
    throw new Error('unterminated value');
  }
  // number, true, false, null: up to the next delimiter
  let p = i;
  while (p < b.length) {
    const x = b[p]!;
    if (
      x === COMMA ||
      x === CLOSE_OBJECT ||
      x === CLOSE_ARRAY ||
      x === 0x20 ||
      x === 0x0a ||
      x === 0x0d ||
      x === 0x09
    )
      break;
    p++;
  }
  return p;
}

/** [start, end) of each element of the array that starts at `open` (a '['). */
export function arrayElements(b: Buffer, open: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let p = skipWhitespace(b, open + 1);
  if (b[p] === CLOSE_ARRAY) return out;
  for (;;) {
    const end = skipValue(b, p);
    out.push([p, end]);
    p = skipWhitespace(b, end);
    if (b[p] === COMMA) {
      p = skipWhitespace(b, p + 1);
      continue;
    }
    if (b[p] === CLOSE_ARRAY) return out;
    throw new Error('malformed array');
  }
}

/**
 * Where the value of the member `key` of the object at `open` (a '{') starts, or -1. With a repeated
 * key the last one counts, as in JSON.parse.
 */
export function memberValue(b: Buffer, open: number, key: string): number {
  let found = -1;
  let p = skipWhitespace(b, open + 1);
  if (b[p] === CLOSE_OBJECT) return found;
  for (;;) {
    const keyEnd = skipString(b, p);
    const raw = b.subarray(p + 1, keyEnd - 1);
    const name = raw.includes(BACKSLASH)
      ? (JSON.parse(b.toString('utf8', p, keyEnd)) as string)
      : raw.toString('utf8');
    p = skipWhitespace(b, keyEnd);
    if (b[p] !== COLON) throw new Error('malformed object');
    p = skipWhitespace(b, p + 1);
    if (name === key) found = p;
    p = skipWhitespace(b, skipValue(b, p));
    if (b[p] === COMMA) {
      p = skipWhitespace(b, p + 1);
      continue;
    }
    if (b[p] === CLOSE_OBJECT) return found;
    throw new Error('malformed object');
  }
}
