import { request as httpsRequest } from 'node:https';
import { checkAgainst } from '@siem/config';
import type { NormalizedEvent } from '@siem/core';
import { WebSocket } from 'ws';
import { generateApiKey, hashApiKey } from '../auth.js';
import { type ApiKeyEntry, type ApiOptions, type ApiScope, apiOptionsSchema } from '../options.js';

/** API options with the schema's defaults filled in under the given overrides. */
export function apiOptions(overrides: Record<string, unknown> = {}): ApiOptions {
  const o = structuredClone(overrides);
  const problems = checkAgainst(apiOptionsSchema, o);
  if (problems.length > 0) throw new Error(`bad test options: ${JSON.stringify(problems)}`);
  return o as unknown as ApiOptions;
}

export interface TestKey {
  token: string;
  entry: ApiKeyEntry;
}

export function testKey(id: string, scopes: ApiScope[], tenant: string | null = null): TestKey {
  const token = generateApiKey();
  return { token, entry: { id, hash: hashApiKey(token), scopes, tenant } };
}

export interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

/** One request over real HTTP. */
export async function call<T = Record<string, unknown>>(
  base: string,
  path: string,
  o: {
    token?: string;
    method?: string;
    body?: unknown;
    rawBody?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = { ...o.headers };
  if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
  let body: string | undefined;
  if (o.rawBody !== undefined || o.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = o.rawBody ?? JSON.stringify(o.body);
  }
  const res = await fetch(`${base}${path}`, { method: o.method ?? 'GET', headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // text answers (metrics)
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

export function httpsGet(url: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

export type TailMessage =
  | { type: 'hello'; [k: string]: unknown }
  | { type: 'events'; events: NormalizedEvent[] }
  | { type: 'dropped'; count: number; total: number };

/** A live tail client that records every message. */
export class TailClient {
  readonly ws: WebSocket;
  readonly messages: TailMessage[] = [];
  readonly opened: Promise<void>;

  constructor(url: string, token?: string) {
    this.ws = new WebSocket(
      url,
      token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } },
    );
    this.ws.on('message', (data) => this.messages.push(JSON.parse(String(data)) as TailMessage));
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('message', () => resolve()); // the hello
      this.ws.once('error', reject);
    });
  }

  events(): NormalizedEvent[] {
    return this.messages.flatMap((m) => (m.type === 'events' ? m.events : []));
  }

  dropped(): number {
    return this.messages.reduce((n, m) => n + (m.type === 'dropped' ? m.count : 0), 0);
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}

/** The HTTP status a WebSocket upgrade was refused with. */
export function upgradeRefusal(
  url: string,
  token?: string,
  origin?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      ...(token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } }),
      ...(origin === undefined ? {} : { origin }),
    });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString('utf8');
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on('open', () => {
      ws.close();
      reject(new Error('the upgrade was accepted'));
    });
    ws.on('error', () => undefined);
  });
}

export async function waitFor(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A normalized event with every field set; override what the test is about. */
export function event(i: number, over: Partial<NormalizedEvent> = {}): NormalizedEvent {
  const time = new Date(Date.UTC(2025, 0, 31, 8) + i * 1000).toISOString();
  return {
    time,
    receivedAt: time,
    tenantId: 'acme',
    eventId: `01948c2e-0000-7000-8000-${i.toString(16).padStart(12, '0')}`,
    sourceType: 'syslog',
    hostName: 'web-1',
    hostIp: '192.168.1.10',
    appName: 'sshd',
    severity: 6,
    category: 'authentication',
    action: 'login',
    outcome: 'success',
    userName: 'alice',
    srcIp: '10.1.2.3',
    srcPort: 50000,
    dstIp: '10.0.0.1',
    dstPort: 22,
    processName: 'sshd',
    processPid: 1234,
    eventCode: null,
    message: `event ${i}`,
    attrs: { seq: i },
    raw: `<30>event ${i}`,
    classUid: null,
    ...over,
  };
}

/**
 * The histogram the API must answer for `rows` (a test's oracle): per bucket of `interval` ms from
 * `from` (rounded down to a bucket) to `to`, the rows in [from, to) for which `predicate` holds; empty
 * buckets count 0.
 */
export function expectedBuckets(
  rows: readonly NormalizedEvent[],
  from: number,
  to: number,
  interval: number,
  predicate: (e: NormalizedEvent) => boolean,
): Array<{ time: string; count: number }> {
  const counts = new Map<number, number>();
  for (const e of rows) {
    const t = Date.parse(e.time);
    if (t < from || t >= to || !predicate(e)) continue;
    const b = Math.floor(t / interval) * interval;
    counts.set(b, (counts.get(b) ?? 0) + 1);
  }
  const out: Array<{ time: string; count: number }> = [];
  for (let b = Math.floor(from / interval) * interval; b < to; b += interval) {
    out.push({ time: new Date(b).toISOString(), count: counts.get(b) ?? 0 });
  }
  return out;
}
