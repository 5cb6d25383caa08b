import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type FrameError, type FramerOptions, StreamFramer } from './framer.js';

interface Frame {
  text: string;
  size: number;
}

function frame(
  chunks: (string | Buffer)[],
  options: Partial<FramerOptions> = {},
): { frames: Frame[]; error: FrameError | null; framer: StreamFramer } {
  const frames: Frame[] = [];
  const framer = new StreamFramer(
    { maxMessageBytes: 1024, maxFrameBytes: 4096, nulDelimiter: false, ...options },
    (payload, size) => frames.push({ text: payload.toString('latin1'), size }),
  );
  let error: FrameError | null = null;
  for (const c of chunks) {
    error = framer.push(typeof c === 'string' ? Buffer.from(c, 'latin1') : c);
    if (error !== null) break;
  }
  if (error === null) framer.end();
  return { frames, error, framer };
}

const texts = (fs: Frame[]) => fs.map((f) => f.text);

describe('StreamFramer', () => {
  it('non-transparent framing: LF ends a message, CRLF too, a last line without LF at the end of stream', () => {
    const r = frame(['<13>one\n<13>two\r\n<1', '3>three\n<13>last']);
    expect(r.framer.mode).toBe('non_transparent');
    expect(texts(r.frames)).toEqual(['<13>one', '<13>two', '<13>three', '<13>last']);
  });

  it('octet counting (RFC 6587 3.4.1), frames split anywhere', () => {
    const a = '<13>1 - h a - - - hello\nwith a line feed';
    const b = '<14>Jan 18 11:07:53 h t: x';
    const r = frame([`${a.length} ${a}${b.length} `, b.slice(0, 5), b.slice(5)]);
    expect(r.framer.mode).toBe('octet_counting');
    expect(texts(r.frames)).toEqual([a, b]);
  });

  it('a message that merely starts with a digit is not a length prefix', () => {
    const r = frame(['2024-01-18 11:07:53 something\n123 apples\n']);
    expect(r.framer.mode).toBe('non_transparent');
    expect(texts(r.frames)).toEqual(['2024-01-18 11:07:53 something', '123 apples']);
    // digits and a space but no PRI after them: still LF framing
    expect(frame(['12 apples and pears\n']).framer.mode).toBe('non_transparent');
    // detection waits for the byte after the space
    const split = frame(['1', '2', ' ', '<13>abcdefgh']);
    expect(split.framer.mode).toBe('octet_counting');
    expect(texts(split.frames)).toEqual(['<13>abcdefgh']);
  });

  it('NUL as a delimiter when enabled', () => {
    expect(texts(frame(['<13>a\0<13>b\n<13>c\0'], { nulDelimiter: true }).frames)).toEqual([
      '<13>a',
      '<13>b',
      '<13>c',
    ]);
    expect(texts(frame(['<13>a\0b\n']).frames)).toEqual(['<13>a\0b']);
  });

  it('messages over maxMessageBytes are truncated with their original size, memory stays bounded', () => {
    const long = `<13>${'x'.repeat(3000)}`;
    const r = frame([long.slice(0, 1000), long.slice(1000), '\n<13>next\n'], { maxMessageBytes: 500 });
    expect(r.error).toBeNull();
    expect(r.frames[0]!.text.length).toBe(500);
    expect(r.frames[0]!.size).toBe(long.length);
    expect(r.frames[1]!.text).toBe('<13>next');
    const o = frame([`${long.length} ${long}${'8 <13>next'}`], { maxMessageBytes: 500 });
    expect(o.frames.map((f) => [f.text.length, f.size])).toEqual([
      [500, long.length],
      [8, 8],
    ]);
  });

  it('a frame over maxFrameBytes is an error (the caller closes the connection)', () => {
    expect(frame(['99999 <13>x'], { maxFrameBytes: 1000 }).error).toBe('frame_too_large');
    const lf = frame(['<13>', 'y'.repeat(3000)], { maxFrameBytes: 2000, maxMessageBytes: 500 });
    expect(lf.error).toBe('frame_too_large');
    // what was kept is still delivered, truncated
    expect(lf.frames).toHaveLength(1);
    expect(lf.frames[0]!.text.length).toBe(500);
  });

  it('a lying octet count runs into text: bad_octet_count', () => {
    // the count says 5, the message is longer: the rest does not start with a count
    expect(frame(['5 <13>hello world\n']).error).toBe('bad_octet_count');
    expect(frame(['8 <13>abcd', '0012 <13>x']).error).toBe('bad_octet_count');
    expect(frame(['3 <13', '>x 1 <']).frames).toHaveLength(1);
  });

  it('tolerates line ends between octet-counted frames', () => {
    expect(texts(frame(['6 <13>ab\n6 <13>cd\r\n']).frames)).toEqual(['<13>ab', '<13>cd']);
  });

  it('end of stream delivers a cut octet frame with its declared size', () => {
    const r = frame(['20 <13>only-part']);
    expect(r.frames).toEqual([{ text: '<13>only-part', size: 20 }]);
  });

  it('any chunking of a stream gives the same frames (property)', () => {
    const message = fc.string({ minLength: 1, maxLength: 80 }).map((s) => `<13>${s.replace(/[\n\r]/g, ' ')}`);
    fc.assert(
      fc.property(
        fc.array(message, { minLength: 1, maxLength: 20 }),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 10 }),
        (messages, octet, cutsRaw) => {
          const encoded = messages.map((m) => Buffer.from(m, 'utf8'));
          const stream = Buffer.concat(
            encoded.map((b) =>
              octet ? Buffer.concat([Buffer.from(`${b.length} `), b]) : Buffer.concat([b, Buffer.from('\n')]),
            ),
          );
          const cuts = [...new Set(cutsRaw.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
          const chunks: Buffer[] = [];
          let last = 0;
          for (const c of cuts) {
            chunks.push(stream.subarray(last, c));
            last = c;
          }
          chunks.push(stream.subarray(last));
          const got: Buffer[] = [];
          const framer = new StreamFramer(
            { maxMessageBytes: 1024, maxFrameBytes: 4096, nulDelimiter: false },
            (p) => got.push(Buffer.from(p)),
          );
          for (const c of chunks) expect(framer.push(c)).toBeNull();
          framer.end();
          expect(framer.mode).toBe(octet ? 'octet_counting' : 'non_transparent');
          expect(got.map((b) => b.toString('utf8'))).toEqual(encoded.map((b) => b.toString('utf8')));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('random and mutated streams never throw and never hold more than the limit (property)', () => {
    const opts = { maxMessageBytes: 600, maxFrameBytes: 2000, nulDelimiter: true };
    const piece = fc.oneof(
      fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
      fc
        .constantFrom('\n', '12 ', '<13>', '99999999999 ', '0 ', '5 <1', ' ', '\0')
        .map((s) => Buffer.from(s)),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), (chunks) => {
        let delivered = 0;
        const framer = new StreamFramer(opts, (p, size) => {
          expect(p.length).toBeLessThanOrEqual(opts.maxMessageBytes);
          expect(size).toBeGreaterThanOrEqual(p.length);
          delivered++;
        });
        for (const c of chunks) {
          const err = framer.push(c);
          expect(framer.pendingBytes).toBeLessThanOrEqual(opts.maxMessageBytes + 16);
          if (err !== null) {
            expect(['bad_octet_count', 'frame_too_large']).toContain(err);
            return;
          }
        }
        framer.end();
        expect(delivered).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 2000 },
    );
  });
});
