import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { gunzipSync } from 'node:zlib';
import { makeTestPki } from '@siem/local-stack';
import { StreamFramer } from '@siem/net';
import { ackFrame } from '@siem/windows';
import { afterAll, describe, expect, it } from 'vitest';
import { type EmitOptions, emitSample, generatorFor } from './emit.js';
import { lumberjackTestDecoder } from './lumberjack-test-decoder.js';

/**
 * Each sender against a small server on 127.0.0.1 port 0 that decodes what arrives with the
 * project's own framer / Lumberjack decoder (or, for HTTP, gunzip and JSON.parse) and counts it: the
 * receiver's count must equal what the generator says it sent, and the content must be what a
 * file run of the same seed writes.
 */

const START = Date.parse('2026-03-05T14:00:00Z');
const dir = mkdtempSync(join(tmpdir(), 'siem-generator-'));
const servers: { close(): void }[] = [];

afterAll(() => {
  for (const s of servers) s.close();
  rmSync(dir, { recursive: true, force: true });
});

function base(
  protocol: EmitOptions['protocol'],
  port: number,
  extra: Partial<EmitOptions> = {},
): EmitOptions {
  return {
    protocol,
    target: { host: '127.0.0.1', port },
    count: 5000,
    durationMs: null,
    rate: null,
    diurnal: false,
    seed: 1234,
    startMs: START,
    tenant: null,
    kinds: null,
    malformed: 0,
    framing: 'lf',
    tls: null,
    apiKey: null,
    out: null,
    ...extra,
  };
}

function expected(
  protocol: EmitOptions['protocol'],
  n: number,
  malformed = 0,
  rate: number | null = null,
): string[] {
  // the simulated clock advances at the run's rate: the same rate gives the same times
  const g = generatorFor(
    { protocol, kinds: null, seed: 1234, startMs: START, rate, diurnal: false, malformed, tenant: null },
    1234,
  );
  return Array.from({ length: n }, () => g.next().text);
}

/** A stream server whose connections feed `onData`; resolves its port. */
async function listen(server: Server): Promise<number> {
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

function syslogCollector(frames: string[]): (socket: Socket) => void {
  return (socket) => {
    const framer = new StreamFramer(
      { maxMessageBytes: 1 << 20, maxFrameBytes: 1 << 20, nulDelimiter: false },
      (p) => frames.push(p.toString('utf8')),
    );
    socket.on('data', (d: Buffer) => framer.push(d));
    socket.on('end', () => framer.end());
  };
}

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('senders', () => {
  it('tcp, LF and octet-counted framing: every event arrives whole and in order', async () => {
    for (const framing of ['lf', 'octet-counted'] as const) {
      const frames: string[] = [];
      const port = await listen(createServer(syslogCollector(frames)));
      const s = await emitSample(base('tcp', port, { framing, malformed: 0.02 }));
      expect(s).toMatchObject({ sent: 5000, acknowledged: null, refused: 0, error: null });
      expect(s.malformed).toBeGreaterThan(50);
      await until(() => frames.length >= 5000);
      expect(frames).toEqual(expected('tcp', 5000, 0.02));
      expect(Object.values(s.kinds).reduce((a, k) => a + k.sent, 0)).toBe(5000);
    }
  });

  it('tls verifies the server against --ca', async () => {
    const pki = makeTestPki(dir);
    const frames: string[] = [];
    const server = createTlsServer(
      { cert: readFileSync(pki.server.cert), key: readFileSync(pki.server.key) },
      syslogCollector(frames),
    );
    const port = await listen(server as unknown as Server);
    const ca = readFileSync(pki.ca.cert);
    const s = await emitSample(base('tls', port, { count: 3000, tls: { ca, insecure: false } }));
    expect(s).toMatchObject({ sent: 3000, error: null });
    await until(() => frames.length >= 3000);
    expect(frames).toEqual(expected('tls', 3000));
    // without the CA the handshake fails: the run does not start
    await expect(
      emitSample(base('tls', port, { count: 10, tls: { ca: null, insecure: false } })),
    ).rejects.toThrow(/cannot connect/);
  });

  it('udp: one event per datagram', async () => {
    const got: string[] = [];
    const sock = createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
    sock.on('message', (m) => got.push(m.toString('utf8')));
    sock.bind(0, '127.0.0.1');
    await once(sock, 'listening');
    servers.push({ close: () => sock.close() });
    // paced: loopback UDP drops what the receiver's buffer cannot hold (receiver and sender share this event loop)
    const s = await emitSample(base('udp', sock.address().port, { count: 2000, rate: 5000 }));
    expect(s).toMatchObject({ sent: 2000, acknowledged: null, error: null });
    await until(() => got.length >= 2000).catch(() => {
      throw new Error(`received ${got.length} of 2000`);
    });
    expect(got).toEqual(expected('udp', 2000, 0, 5000));
  });

  it('lumberjack: windows, compressed or not, acknowledged; partial ACKs count; a closed connection refuses the rest', async () => {
    for (const compression of [3, 0]) {
      const docs: string[] = [];
      let windows = 0;
      const decodeErrors: string[] = [];
      const port = await listen(
        createServer((socket) => {
          let inWindow = 0;
          let seen = 0;
          const dec = lumberjackTestDecoder(
            {
              window: (n) => {
                windows++;
                inWindow = n;
                seen = 0;
              },
              event: (seq, payload) => {
                docs.push(payload.toString('utf8'));
                seen++;
                // a partial ACK half-way, as Logstash may send, then the full one
                if (seen === Math.floor(inWindow / 2)) socket.write(ackFrame(0));
                if (seen === Math.floor(inWindow / 2) + 1) socket.write(ackFrame(seq));
                if (seen === inWindow) socket.write(ackFrame(seq));
              },
            },
            (reason) => decodeErrors.push(reason),
          );
          socket.on('data', (d: Buffer) => dec.push(d));
        }),
      );
      const s = await emitSample(
        base('lumberjack', port, { count: 5000, lumberjack: { windowSize: 1000, compression } }),
      );
      expect(s).toMatchObject({ sent: 5000, acknowledged: 5000, refused: 0, error: null });
      expect(windows).toBe(5);
      expect(docs).toEqual(expected('lumberjack', 5000));
      expect(decodeErrors).toEqual([]);
    }
    const decodeErrors: string[] = [];
    // a receiver that ACKs 300 of a window and hangs up
    const port = await listen(
      createServer((socket) => {
        let seen = 0;
        const dec = lumberjackTestDecoder(
          {
            window: () => undefined,
            event: (seq) => {
              if (++seen === 300) {
                socket.write(ackFrame(seq));
                socket.end();
              }
            },
          },
          (reason) => decodeErrors.push(reason),
        );
        socket.on('data', (d: Buffer) => dec.push(d));
      }),
    );
    const s = await emitSample(base('lumberjack', port, { count: 2000, lumberjack: { windowSize: 1000 } }));
    expect(s).toMatchObject({ sent: 1000, acknowledged: 300, refused: 700 });
    expect(s.error).toMatch(/closed the connection/);
    expect(s.errors.closed_before_ack?.count).toBe(1);
  });

  it('http: gzip batches per source type; 202 acknowledges, 503 is retried, 400 refuses', async () => {
    const records: Record<string, unknown[]> = {};
    let first503 = true;
    let keySeen: string | undefined;
    const server = createHttpServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        keySeen = req.headers.authorization;
        const type = req.url!.split('/').pop()!;
        if (first503) {
          first503 = false;
          res
            .writeHead(503, { 'retry-after': '0', 'content-type': 'application/json' })
            .end('{"message":"buffer full"}');
          return;
        }
        let doc: Record<string, unknown[]>;
        try {
          const body =
            req.headers['content-encoding'] === 'gzip'
              ? gunzipSync(Buffer.concat(chunks))
              : Buffer.concat(chunks);
          doc = JSON.parse(body.toString('utf8'));
        } catch {
          res
            .writeHead(400, { 'content-type': 'application/json' })
            .end('{"message":"the body is not valid JSON"}');
          return;
        }
        const list = doc.Records ?? doc.records ?? doc.entries ?? [];
        records[type] = [...(records[type] ?? []), ...list];
        res
          .writeHead(202, { 'content-type': 'application/json' })
          .end(JSON.stringify({ accepted: list.length, source_type: type }));
      });
    });
    const port = await listen(server as unknown as Server);
    const s = await emitSample(base('http', port, { count: 3000, malformed: 0.01, apiKey: 'k3y' }));
    expect(keySeen).toBe('Bearer k3y');
    expect(s.error).toBeNull();
    expect(s.sent).toBe(3000);
    expect(s.acknowledged! + s.refused).toBe(3000);
    expect(s.refused).toBe(s.malformed);
    expect(s.errors.http_400?.count).toBe(s.malformed);
    expect(s.errors.http_503_retried?.count).toBe(1);
    expect(Object.keys(records).sort()).toEqual(['azure_activity', 'cloudtrail', 'gcp_logging']);
    const stored = Object.values(records).reduce((a, l) => a + l.length, 0);
    expect(stored).toBe(s.acknowledged);
  });

  it('--out writes one payload per line: the same bytes as a run over the network', async () => {
    const file = join(dir, 'out.log');
    const s = await emitSample(base('tcp', 1, { out: file, count: 4000 }));
    expect(s).toMatchObject({ sent: 4000, target: file });
    expect(readFileSync(file, 'utf8')).toBe(`${expected('tcp', 4000).join('\n')}\n`);
    const bodies = join(dir, 'bodies.ndjson');
    await emitSample(base('http', 1, { out: bodies, count: 1200 }));
    const lines = readFileSync(bodies, 'utf8').trimEnd().split('\n');
    const n = lines
      .map((l) => JSON.parse(l))
      .reduce((a, d) => a + (d.Records ?? d.records ?? d.entries).length, 0);
    expect(n).toBe(1200);
  });

  it('--rate paces the run and --duration ends it', async () => {
    const frames: string[] = [];
    const port = await listen(createServer(syslogCollector(frames)));
    const s = await emitSample(base('tcp', port, { count: null, durationMs: 1000, rate: 2000 }));
    expect(s.error).toBeNull();
    expect(s.sent).toBeGreaterThan(1200);
    expect(s.sent).toBeLessThan(2600);
  });
});
