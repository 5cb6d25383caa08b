import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { deflateSync, inflateSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ackFrame,
  LumberjackDecoder,
  type LumberjackDecoderOptions,
  type LumberjackError,
} from './lumberjack.js';
import { compressedFrame, encodeWindow, jsonFrame, windowFrame } from './test-support/lumberjack-client.js';

/**
 * The Lumberjack v2 decoder against the specification's examples (src/fixtures/lumberjack-v2, each
 * entry naming its source), and the test client's encoder against the same bytes — so the client the
 * listener tests use is checked against the specification, not only against our decoder.
 */

interface Frame {
  type: 'window' | 'json';
  size?: number;
  seq?: number;
  json?: string;
}

interface Fixture {
  examples: { id: string; hex: string; frames?: Frame[]; ack?: number; inflated_hex?: string }[];
  refused: { id: string; hex: string; error: LumberjackError }[];
  not_the_wire_format: { id: string; hex: string; error?: LumberjackError; real_ack_hex?: string }[];
}

const spec = JSON.parse(
  readFileSync(new URL('./fixtures/lumberjack-v2/spec-frames.json', import.meta.url), 'utf8'),
) as Fixture;
const example = (id: string) => spec.examples.find((e) => e.id === id)!;

const LIMITS: LumberjackDecoderOptions = {
  maxFrameBytes: 1024 * 1024,
  maxWindowEvents: 16_384,
  maxDecompressedBytes: 4 * 1024 * 1024,
  maxCompressedEvents: 16_384,
};

/** Decodes `chunks` in order (each once the previous is delivered, unless eager); frames and error. */
async function decode(chunks: Buffer[], limits: LumberjackDecoderOptions = LIMITS, eager = false) {
  const frames: Frame[] = [];
  let error: LumberjackError | null = null;
  const d = new LumberjackDecoder(limits, {
    window: (size) => frames.push({ type: 'window', size }),
    event: (seq, payload) => frames.push({ type: 'json', seq, json: payload.toString('utf8') }),
    error: (reason) => {
      error = reason;
    },
    idle: () => undefined,
  });
  for (const c of chunks) {
    d.push(c); // eager: pushed while a compressed frame is still being inflated, as a socket would
    if (!eager) await d.settled();
    if (error !== null) break;
  }
  while (d.busy) await d.settled();
  return { frames, error: error as LumberjackError | null, midFrame: d.midFrame };
}

const bytesOf = (hex: string) => Buffer.from(hex, 'hex');
const oneByOne = (b: Buffer) => [...b].map((x) => Buffer.from([x]));

describe('Lumberjack v2 byte layout (specification examples)', () => {
  it('decodes every example of the fixture, whole and one byte at a time', async () => {
    for (const e of spec.examples.filter((x) => x.frames !== undefined)) {
      const bytes = bytesOf(e.hex);
      expect(await decode([bytes]), e.id).toEqual({ frames: e.frames, error: null, midFrame: false });
      expect((await decode(oneByOne(bytes))).frames, `${e.id} byte by byte`).toEqual(e.frames);
    }
  });

  it('writes the ACK frame of the specification (6 bytes: version, A, sequence)', async () => {
    const bulk = example('spec-bulk-ack-6');
    expect(ackFrame(bulk.ack!).toString('hex')).toBe(bulk.hex);
    const twelve3 = spec.not_the_wire_format.find((x) => x.id === 'go-lumber-protocol-md-12.3')!;
    expect(ackFrame(1).toString('hex')).toBe(twelve3.real_ack_hex);
    expect(ackFrame(0).toString('hex')).toBe('324100000000');
  });

  it('the test client encodes exactly the example bytes', async () => {
    expect(windowFrame(50).toString('hex')).toBe(example('spec-window-50').hex);
    expect(encodeWindow(['{"msg":"hello"}'], false).toString('hex')).toBe(
      example('go-lumber-reader-test-window-at-limit').hex,
    );
    // compressed: the zlib bytes differ between deflaters, the frames inside must not
    const c = example('spec-compressed-three-frames');
    const events = c.frames!.filter((f) => f.type === 'json').map((f) => f.json!);
    const ours = encodeWindow(events, true);
    const theirs = bytesOf(c.hex);
    expect(ours.subarray(0, 8)).toEqual(theirs.subarray(0, 8)); // window frame, then '2C'
    expect(inflateSync(ours.subarray(12)).toString('hex')).toBe(c.inflated_hex);
    expect(inflateSync(theirs.subarray(12)).toString('hex')).toBe(c.inflated_hex);
    expect(ours.readUInt32BE(8)).toBe(ours.length - 12);
  });

  it('refuses what the reference implementation refuses', async () => {
    for (const r of spec.refused) expect((await decode([bytesOf(r.hex)])).error, r.id).toBe(r.error);
  });

  it("refuses the examples of go-lumber's newer PROTOCOL.md, which no writer sends", async () => {
    const twelve1 = spec.not_the_wire_format.find((x) => x.id === 'go-lumber-protocol-md-12.1')!;
    expect((await decode([bytesOf(twelve1.hex)])).error).toBe(twelve1.error);
  });
});

describe('Lumberjack v2 decoder limits and lying frames', () => {
  it('a JSON frame longer than maxFrameBytes is refused before its body is read', async () => {
    const header = Buffer.concat([
      Buffer.from('2J'),
      Buffer.from([0, 0, 0, 1]),
      Buffer.from([0, 0x10, 0, 1]),
    ]);
    expect((await decode([header], { ...LIMITS, maxFrameBytes: 1024 * 1024 })).error).toBe('frame_too_large');
  });

  it('a window over maxWindowEvents is refused', async () => {
    expect((await decode([windowFrame(101)], { ...LIMITS, maxWindowEvents: 100 })).error).toBe(
      'window_too_large',
    );
    expect((await decode([windowFrame(100)], { ...LIMITS, maxWindowEvents: 100 })).error).toBeNull();
  });

  it('a compressed frame that is not zlib, or inflates past the limit, is refused', async () => {
    const garbage = Buffer.concat([Buffer.from('2C'), Buffer.from([0, 0, 0, 4]), Buffer.from('nope')]);
    expect((await decode([garbage])).error).toBe('bad_compressed_frame');
    const bomb = compressedFrame([jsonFrame(1, `{"m":"${'x'.repeat(200_000)}"}`)]);
    expect(bomb.length).toBeLessThan(2_000);
    expect((await decode([bomb], { ...LIMITS, maxDecompressedBytes: 100_000 })).error).toBe(
      'decompressed_too_large',
    );
  });

  it('a compressed frame must hold whole frames, and no compressed frame', async () => {
    const cut = jsonFrame(1, '{"a":1}').subarray(0, 12);
    const z = deflateSync(Buffer.concat([jsonFrame(1, '{"ok":1}'), cut]));
    const partial = Buffer.concat([windowFrame(2), Buffer.from('2C'), Buffer.from([0, 0, 0, z.length]), z]);
    const r = await decode([partial]);
    expect(r.error).toBe('bad_compressed_frame');
    expect(r.frames).toEqual([
      { type: 'window', size: 2 },
      { type: 'json', seq: 1, json: '{"ok":1}' },
    ]); // what came before is kept
    const nested = compressedFrame([compressedFrame([jsonFrame(1, '{}')])]);
    expect((await decode([nested])).error).toBe('bad_frame_type');
  });

  it('a length that lies runs into the next frame header: the stream stays inside a frame', async () => {
    // says 100 bytes, sends 7 and a new frame: the decoder waits for 100 bytes (the caller sees a cut
    // frame when the stream ends, or the next header is read as body)
    const lying = Buffer.concat([
      Buffer.from('2J'),
      Buffer.from([0, 0, 0, 1, 0, 0, 0, 100]),
      Buffer.from('{"a":1}'),
      jsonFrame(2, '{"b":2}'),
    ]);
    const r = await decode([lying]);
    expect(r.error).toBeNull();
    expect(r.frames).toEqual([]);
    expect(r.midFrame).toBe(true);
  });

  it('an ACK or unknown frame from a writer is refused', async () => {
    expect((await decode([ackFrame(1)])).error).toBe('bad_frame_type');
    expect((await decode([Buffer.from('2D\0\0\0\x01')])).error).toBe('bad_frame_type'); // v1 data frame
  });

  it('any split of a frame stream yields the same events (property)', async () => {
    const events = fc.array(
      fc.string({ maxLength: 200 }).map((s) => JSON.stringify({ m: s })),
      { minLength: 1, maxLength: 20 },
    );
    await fc.assert(
      fc.asyncProperty(
        events,
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.boolean(),
        async (evs, compress, cuts, eager) => {
          const stream = Buffer.concat([
            encodeWindow(evs, compress),
            encodeWindow(evs.slice(0, 1), !compress),
          ]);
          const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
          const chunks: Buffer[] = [];
          let from = 0;
          for (const p of [...points, stream.length]) {
            if (p > from) chunks.push(stream.subarray(from, p));
            from = Math.max(from, p);
          }
          const r = await decode(chunks, LIMITS, eager);
          expect(r.error).toBeNull();
          expect(r.midFrame).toBe(false);
          const json = r.frames.filter((f) => f.type === 'json');
          expect(json.map((f) => f.json)).toEqual([...evs, evs[0]]);
          expect(json.map((f) => f.seq)).toEqual([...evs.map((_, i) => i + 1), 1]);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('an event beyond the announced window, or before any, closes the stream', async () => {
    const three = [1, 2, 3].map((i) => jsonFrame(i, '{}'));
    for (const frames of [three, [compressedFrame(three)]]) {
      const r = await decode([windowFrame(2), ...frames]);
      expect(r.error).toBe('window_exceeded');
      expect(r.frames.filter((f) => f.type === 'json')).toHaveLength(2); // the announced ones are kept
    }
    expect((await decode([jsonFrame(1, '{}')])).error).toBe('window_exceeded');
  });

  it("the issue's 48.9 KB compressed frame of 364,722 tiny frames stops at maxCompressedEvents", async () => {
    // window frames inside the compressed frame reset the window, not the per-frame count
    const tiny = Buffer.concat(Array(16_000).fill(jsonFrame(1, '')));
    const batches = Array.from({ length: 23 }, () => [windowFrame(16_000), tiny]).flat();
    const frame = compressedFrame(batches, 9);
    expect(frame.length).toBeLessThan(60_000);
    const r = await decode([frame], { ...LIMITS, maxCompressedEvents: 16_384 });
    expect(r.error).toBe('compressed_too_many_events');
    expect(r.frames.filter((f) => f.type === 'json')).toHaveLength(16_384);
  });

  it('inflates in the thread pool and delivers in slices: the event loop keeps turning', async () => {
    const events = Array.from({ length: 16_000 }, (_, i) => jsonFrame(i + 1, `{"m":"${'x'.repeat(3000)}"}`));
    const frame = Buffer.concat([windowFrame(16_000), compressedFrame(events, 1)]);
    let delivered = 0;
    let error: LumberjackError | null = null;
    const d = new LumberjackDecoder(
      { ...LIMITS, maxDecompressedBytes: 64 * 1024 * 1024 },
      {
        window: () => undefined,
        event: () => delivered++, // nothing kept: the figure is the decoder's, not the test's garbage
        error: (reason) => {
          error = reason;
        },
        idle: () => undefined,
      },
    );
    const lag = monitorEventLoopDelay({ resolution: 5 });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    lag.enable();
    d.push(frame);
    expect(d.busy).toBe(true); // inflating in the pool: push returned at once
    while (d.busy) await d.settled();
    lag.disable();
    clearInterval(timer);
    expect(error).toBeNull();
    expect(delivered).toBe(16_000);
    expect(ticks).toBeGreaterThan(1); // timers ran while the frame was inflated and delivered
    expect(lag.max / 1e6).toBeLessThan(100);
  });
});
