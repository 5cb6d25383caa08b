const BACKSLASH = 0x5c;
const PIPE = 0x7c;

/**
 * Splits the pipe-separated header of a CEF or LEEF record: from `from`, at most `max` fields, each
 * ending at an unescaped `|` (a backslash escapes the character after it; the fields are kept as sent).
 * The fields go to `fields`; the result is where the text after the last field's pipe starts.
 */
export function splitPipeHeader(message: string, from: number, max: number, fields: string[]): number {
  let fieldStart = from;
  let i = from;
  const n = message.length;
  while (i < n && fields.length < max) {
    const c = message.charCodeAt(i);
    if (c === BACKSLASH) {
      i += 2;
      continue;
    }
    if (c === PIPE) {
      fields.push(message.slice(fieldStart, i));
      fieldStart = i + 1;
    }
    i++;
  }
  return fieldStart;
}
