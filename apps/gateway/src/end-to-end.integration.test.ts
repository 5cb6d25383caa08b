/**
 * End to end through the real gateway process: util-linux `logger` (TCP and UDP, RFC 5424 and RFC 3164)
 * and syslog-ng's `loggen` → `siem serve --role gateway` → the raw topic on the stack's Kafka. Every
 * record is consumed back and compared with what the client sent: the payload byte for byte (logger
 * prints each message exactly as sent with --stderr; loggen sends the lines of a file unchanged with
 * --dont-parse), the record key, the peer, and the parsed syslog header.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeRawEvent, RAW_EVENT_VERSION, type RawEvent } from '@siem/core';
import {
  deleteTopics,
  fetchLoggen,
  freePort,
  type Loggen,
  readTopic,
  stackUrls,
  waitForRecords,
} from '@siem/local-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, startGatewayProcess, uniqueTopics } from './testing/gateway-process.js';

const SYSLOG_PORT = await freePort();
const API_PORT = await freePort();
const brokers = stackUrls.kafkaBrokers;
const topics = uniqueTopics('gw-e2e');
const run = Date.now().toString(36);

interface Expected {
  what: string;
  payload: Buffer;
  transport: 'tcp' | 'udp';
  /** Same value for every message of one client connection (null: not checked). */
  connection: string | null;
  header: {
    format: 'rfc5424' | 'rfc3164';
    facility: number;
    severity: number;
    hostname: string;
    appName: string;
    procId: string | null;
    msgId: string | null;
    structuredData: Record<string, Record<string, string>> | null;
    /** RFC 5424: the timestamp exactly as sent; RFC 3164: the instant it denotes (UTC). */
    timestamp: string | number;
    msg: string;
  };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** An RFC 3164 `Mmm dd hh:mm:ss` in UTC, in the year that puts it closest to now. */
function legacyInstant(stamp: string): number {
  const m = /^(\w{3}) +(\d{1,2}) (\d\d):(\d\d):(\d\d)$/.exec(stamp)!;
  const now = Date.now();
  const year = new Date(now).getUTCFullYear();
  const candidates = [year - 1, year, year + 1].map((y) =>
    Date.UTC(y, MONTHS.indexOf(m[1]!), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])),
  );
  return candidates.reduce((a, b) => (Math.abs(a - now) <= Math.abs(b - now) ? a : b));
}

function structuredData(sd: string): Record<string, Record<string, string>> | null {
  if (sd === '-') return null;
  const out: Record<string, Record<string, string>> = {};
  for (const el of sd.matchAll(/\[([^\s\]]+)((?: [^=\s]+="[^"]*")*)\]/g)) {
    const params: Record<string, string> = {};
    for (const p of el[2]!.matchAll(/ ([^=\s]+)="([^"]*)"/g)) params[p[1]!] = p[2]!;
    out[el[1]!] = params;
  }
  return out;
}

/** What a message says about itself, read from the bytes the client sent (formats we choose). */
function expectedFrom(
  what: string,
  transport: 'tcp' | 'udp',
  connection: string | null,
  raw: Buffer,
): Expected {
  const text = raw.toString('utf8');
  const m5424 = /^<(\d+)>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|(?:\[[^\]]*\])+) (.*)$/s.exec(text);
  if (m5424 !== null) {
    const pri = Number(m5424[1]);
    const nil = (s: string) => (s === '-' ? null : s);
    return {
      what,
      payload: raw,
      transport,
      connection,
      header: {
        format: 'rfc5424',
        facility: pri >> 3,
        severity: pri & 7,
        timestamp: m5424[2]!,
        hostname: m5424[3]!,
        appName: m5424[4]!,
        procId: nil(m5424[5]!),
        msgId: nil(m5424[6]!),
        structuredData: structuredData(m5424[7]!),
        msg: m5424[8]!,
      },
    };
  }
  const m3164 = /^<(\d+)>(\w{3} [ \d]\d \d\d:\d\d:\d\d) (\S+) ([^\s:[]+)(?:\[(\d+)\])?: (.*)$/s.exec(text);
  if (m3164 === null) throw new Error(`unexpected message shape from ${what}: ${text}`);
  const pri = Number(m3164[1]);
  return {
    what,
    payload: raw,
    transport,
    connection,
    header: {
      format: 'rfc3164',
      facility: pri >> 3,
      severity: pri & 7,
      timestamp: legacyInstant(m3164[2]!),
      hostname: m3164[3]!,
      appName: m3164[4]!,
      procId: m3164[5] ?? null,
      msgId: null,
      structuredData: null,
      msg: m3164[6]!,
    },
  };
}

/** Runs logger with --stderr, which prints every message exactly as it goes on the wire. */
function logger(args: string[], stdin?: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('logger', ['--stderr', '-n', '127.0.0.1', '-P', String(SYSLOG_PORT), ...args], {
      env: { ...process.env, TZ: 'UTC' },
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString('utf8');
    });
    child.stdin.end(stdin ?? '');
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0
        ? resolve(err.split('\n').filter((l) => l !== ''))
        : reject(new Error(`logger ${args.join(' ')} exited ${code}: ${err}`)),
    );
  });
}

const octetCount = (line: string) => {
  const m = /^(\d+) (.*)$/s.exec(line)!;
  expect(Buffer.byteLength(m[2]!)).toBe(Number(m[1]));
  return m[2]!;
};

let gateway: GatewayProcess | null = null;
let dataDir = '';
let loggen: Loggen | null = null;
let loggenMissing = '';

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'siem-gw-e2e-'));
  try {
    loggen = await fetchLoggen();
  } catch (err) {
    loggenMissing = err instanceof Error ? err.message : String(err);
  }
  gateway = await startGatewayProcess({
    brokers,
    topics,
    dataDir,
    syslogPort: SYSLOG_PORT,
    apiPort: API_PORT,
  });
  await gateway.waitForLog('producers connected');
});

afterAll(async () => {
  if (gateway !== null) {
    const exit = await gateway.stop();
    expect(exit).toEqual({ code: 0, signal: null });
  }
  await deleteTopics(brokers, Object.values(topics));
  rmSync(dataDir, { recursive: true, force: true });
});

describe('logger and loggen → gateway → Kafka', () => {
  it('delivers every event once, byte for byte, with key, peer and syslog header', async () => {
    const expected: Expected[] = [];
    const tag = (name: string) => `${name}-${run}`;

    // TCP, RFC 5424, octet counting, structured data and MSGID; three messages on one connection.
    for (const line of await logger(
      [
        '-T',
        '--octet-count',
        '--rfc5424',
        '-t',
        tag('tcp5424'),
        '-p',
        'auth.warning',
        '--msgid',
        'LOGIN',
        '--sd-id',
        'origin@32473',
        '--sd-param',
        'software="siem-test"',
      ],
      'first message\nsecond: with ünïcödé\nthird [not sd] = x\n',
    )) {
      expected.push(
        expectedFrom('logger tcp rfc5424', 'tcp', 'logger-tcp5424', Buffer.from(octetCount(line))),
      );
    }
    // TCP, RFC 3164, LF framing, with pid; two messages on one connection.
    for (const line of await logger(
      ['-T', '--rfc3164', '-t', tag('tcp3164'), '-i', '-p', 'local3.err'],
      'legacy one\nlegacy two with tab\tand €\n',
    )) {
      expected.push(expectedFrom('logger tcp rfc3164', 'tcp', 'logger-tcp3164', Buffer.from(line)));
    }
    // UDP, one datagram each.
    for (const line of await logger(
      ['-d', '--rfc5424', '-t', tag('udp5424'), '-p', 'user.notice', '--msgid', 'M1'],
      'over udp 5424\n',
    )) {
      expected.push(expectedFrom('logger udp rfc5424', 'udp', null, Buffer.from(line)));
    }
    for (const line of await logger(
      ['-d', '--rfc3164', '-t', tag('udp3164'), '-i', '-p', 'daemon.info'],
      'over udp 3164\n',
    )) {
      expected.push(expectedFrom('logger udp rfc3164', 'udp', null, Buffer.from(line)));
    }
    expect(expected).toHaveLength(7);

    // loggen: the lines of a file, unchanged (--dont-parse), on two connections: each line twice.
    let loggenConnections = 0;
    if (loggen !== null) {
      const lines = [
        `<34>1 2024-01-18T10:00:00.123456+01:00 fw-${run}.example.net sshd 812 AUTH [meta@1 seq="1"] Failed password for root`,
        `<165>1 2024-01-18T10:00:01Z web-${run} nginx - - - GET /index.html 200 é`,
        `<13>Jan 18 10:00:02 db-${run} postgres[4242]: checkpoint complete`,
        `<86>Feb  3 07:08:09 mail-${run} postfix/smtpd[77]: connect from unknown[10.0.0.1]`,
      ];
      const file = join(dataDir, 'loggen-input.txt');
      writeFileSync(file, `${lines.join('\n')}\n`);
      loggenConnections = 2;
      await new Promise<void>((resolve, reject) => {
        const child = spawn(
          loggen!.bin,
          [
            '--inet',
            '--stream',
            '--read-file',
            file,
            '--dont-parse',
            '--active-connections',
            String(loggenConnections),
            '127.0.0.1',
            String(SYSLOG_PORT),
          ],
          { env: loggen!.env, stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.once('error', reject);
        child.once('exit', (code) =>
          code === 0 ? resolve() : reject(new Error(`loggen exited ${code}: ${out}`)),
        );
      });
      for (let c = 0; c < loggenConnections; c++) {
        for (const line of lines) expected.push(expectedFrom('loggen tcp', 'tcp', null, Buffer.from(line)));
      }
    } else {
      process.stdout.write(`loggen not available, only logger was used: ${loggenMissing}\n`);
    }

    const total = await waitForRecords(brokers, topics.raw, expected.length, 60_000);
    const records = await readTopic(brokers, topics.raw);
    expect(total).toBe(expected.length);
    expect(records).toHaveLength(expected.length); // every event, none twice

    // Match each record to one expected message by its payload bytes.
    const unmatched = new Map<string, Expected[]>();
    for (const e of expected) {
      const k = e.payload.toString('base64');
      unmatched.set(k, [...(unmatched.get(k) ?? []), e]);
    }
    const portsByConnection = new Map<string, Set<number>>();
    const events: Array<{ e: Expected; ev: RawEvent }> = [];
    for (const r of records) {
      const ev = decodeRawEvent(r.value!);
      const k = ev.payload.toString('base64');
      const candidates = unmatched.get(k);
      expect(candidates, `unexpected payload ${ev.payload.toString()}`).toBeDefined();
      const e = candidates!.shift()!;
      if (candidates!.length === 0) unmatched.delete(k);
      events.push({ e, ev });
      expect(Buffer.compare(ev.payload, e.payload), e.what).toBe(0);
      expect(String(r.key), `key of ${e.what}`).toBe(e.header.hostname);
      expect(ev).toMatchObject({
        version: RAW_EVENT_VERSION,
        tenant: 'default',
        sourceType: 'syslog',
        marks: [],
        parseError: null,
        originalSize: e.payload.length,
      });
      expect(ev.source).toMatchObject({
        adapter: `syslog_${e.transport}`,
        transport: e.transport,
        peerAddress: '127.0.0.1',
        tls: null,
      });
      expect(ev.source.peerPort).toBeGreaterThan(0);
      if (e.connection !== null) {
        const ports = portsByConnection.get(e.connection) ?? new Set<number>();
        ports.add(ev.source.peerPort!);
        portsByConnection.set(e.connection, ports);
      }
      const h = ev.syslog!;
      expect(h, e.what).toMatchObject({
        format: e.header.format,
        facility: e.header.facility,
        severity: e.header.severity,
        hostname: e.header.hostname,
        appName: e.header.appName,
        procId: e.header.procId,
        msgId: e.header.msgId,
      });
      expect(h.structuredData === null ? null : { ...h.structuredData }, e.what).toEqual(
        e.header.structuredData,
      );
      if (typeof e.header.timestamp === 'string') expect(h.timestamp).toBe(e.header.timestamp);
      else expect(Date.parse(h.timestamp!), `${e.what}: ${h.timestamp}`).toBe(e.header.timestamp);
      expect(ev.payload.subarray(h.msgOffset!).toString('utf8'), e.what).toBe(e.header.msg);
      expect(Date.now() - Date.parse(ev.receivedAt)).toBeLessThan(120_000);
    }
    expect(unmatched.size).toBe(0);
    // One client connection, one peer port; loggen's connections each have their own.
    for (const [connection, ports] of portsByConnection) expect(ports.size, connection).toBe(1);
    if (loggenConnections > 0) {
      // each line came once over each of loggen's connections: once from each of its peer ports
      const fromLoggen = events.filter((x) => x.e.what === 'loggen tcp');
      expect(new Set(fromLoggen.map((x) => x.ev.source.peerPort)).size).toBe(loggenConnections);
      const portsOfLine = new Map<string, Set<number>>();
      for (const { ev } of fromLoggen) {
        const k = ev.payload.toString('base64');
        portsOfLine.set(k, (portsOfLine.get(k) ?? new Set()).add(ev.source.peerPort!));
      }
      for (const ports of portsOfLine.values()) expect(ports.size).toBe(loggenConnections);
    }
    // Per host, events keep their order on one partition.
    const partitionOfKey = new Map<string, number>();
    for (const r of records) {
      const k = String(r.key);
      expect(partitionOfKey.get(k) ?? r.partition).toBe(r.partition);
      partitionOfKey.set(k, r.partition);
    }
    process.stdout.write(
      `end to end: ${records.length} events (${7} from logger, ${records.length - 7} from loggen) compared field by field\n`,
    );
  });
});
