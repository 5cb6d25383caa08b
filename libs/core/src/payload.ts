/**
 * What is kept of an event's bytes when it is over the size limit: cut on a character boundary, the
 * bytes kept exactly as sent. Every intake (listeners, the CLI's stdin reader) cuts the same way.
 */

/** `end` moved back so that a cut there never splits a UTF-8 character (the bytes are kept as sent). */
export function utf8Boundary(buf: Buffer, end: number): number {
  // find the lead byte of the last character (at most 3 continuation bytes before it)
  let p = end - 1;
  while (p >= 0 && p > end - 4 && (buf[p]! & 0xc0) === 0x80) p--;
  if (p < 0) return end;
  const lead = buf[p]!;
  const len = lead < 0x80 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return p + len > end ? p : end;
}

/**
 * What is kept of a frame: at most `maxBytes`, and a frame that is already cut (`originalSize` is
 * larger) never ends inside a UTF-8 character. The event is truncated when `originalSize` or the frame
 * is over the limit.
 */
export function keptPayload(frame: Buffer, originalSize: number, maxBytes: number): Buffer {
  if (frame.length > maxBytes) return frame.subarray(0, utf8Boundary(frame, maxBytes));
  if (originalSize > frame.length && frame.length > 3) {
    return frame.subarray(0, utf8Boundary(frame, frame.length));
  }
  return frame;
}
