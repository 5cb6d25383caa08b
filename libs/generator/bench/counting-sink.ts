/**
 * The receiving end of the generator benchmark, in a process of its own (forked, IPC for control):
 * counts what arrives on TCP (LF lines, or RFC 6587 octet-counted frames through the syslog framer),
 * TLS, UDP (datagrams), Lumberjack v2 (events, each window acknowledged, through the Windows
 * adapter's decoder) and HTTP (records of the cloud batches, after gunzip). It does no other work, so
 * every sender meets the same receiver.
 *
 * IPC: the parent sends {tls: {cert, key}} first; the sink answers {ports}. Then 'reset' → {ok}, and
 * 'counts' → {events, bytes, cpuMs}.
 */
import { createSocket } from 'node:dgram';
import { createServer as createHttpServer } from 'node:http';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { gunzipSync } from 'node:zlib';
import { StreamFramer } from '@siem/net';
import { ackFrame } from '@siem/windows';
import { lumberjackTestDecoder } from '../src/lumberjack-test-decoder.js';

let events = 0;
let bytes = 0;
let cpu0 = process.cpuUsage();

function countStream(socket: Socket): void {
  let framer: StreamFramer | null | undefined;
  socket.on('data', (d: Buffer) => {
    bytes += d.length;
    if (framer === undefined) {
      const c = d[0]!;
      framer =
        c >= 0x30 && c <= 0x39
          ? new StreamFramer(
              { maxMessageBytes: 1 << 20, maxFrameBytes: 1 << 20, nulDelimiter: false },
              () => {
                events++;
              },
            )
          : null;
    }
    if (framer !== null) {
      framer.push(d);
      return;
    }
    let at = d.indexOf(0x0a);
    while (at >= 0) {
      events++;
      at = d.indexOf(0x0a, at + 1);
    }
  });
  socket.on('error', () => undefined);
}

function countLumberjack(socket: Socket): void {
  let inWindow = 0;
  let seen = 0;
  const dec = lumberjackTestDecoder(
    {
      window: (n) => {
        inWindow = n;
        seen = 0;
      },
      event: (seq) => {
        events++;
        if (++seen === inWindow) socket.write(ackFrame(seq));
      },
    },
    () => socket.destroy(),
  );
  socket.on('data', (d: Buffer) => {
    bytes += d.length;
    dec.push(d);
  });
  socket.on('error', () => undefined);
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

process.once('message', async (init: { tls: { cert: string; key: string } }) => {
  const tcp = await listen(createServer(countStream));
  const tls = await listen(
    createTlsServer({ cert: init.tls.cert, key: init.tls.key }, countStream) as unknown as Server,
  );
  const lumberjack = await listen(createServer(countLumberjack));
  const http = await listen(
    createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        bytes += body.length;
        const doc = JSON.parse(
          (req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body).toString('utf8'),
        ) as Record<string, unknown[]>;
        const n = (doc.Records ?? doc.records ?? doc.entries ?? []).length;
        events += n;
        res.writeHead(202, { 'content-type': 'application/json' }).end(`{"accepted":${n}}`);
      });
    }) as unknown as Server,
  );
  const udpSocket = createSocket({ type: 'udp4', recvBufferSize: 32 << 20 });
  udpSocket.on('message', (m) => {
    events++;
    bytes += m.length;
  });
  await new Promise<void>((r) => udpSocket.bind(0, '127.0.0.1', r));
  process.on('message', (m: string) => {
    if (m === 'reset') {
      events = 0;
      bytes = 0;
      cpu0 = process.cpuUsage();
      process.send!({ ok: true });
    } else if (m === 'counts') {
      const c = process.cpuUsage(cpu0);
      process.send!({ events, bytes, cpuMs: (c.user + c.system) / 1000 });
    } else if (m === 'exit') process.exit(0);
  });
  process.send!({ ports: { tcp, tls, lumberjack, http, udp: udpSocket.address().port } });
});
// The parent going away ends the sink too.
process.on('disconnect', () => process.exit(0));
