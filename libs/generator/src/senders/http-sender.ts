import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { GeneratedEvent } from '../generator.js';
import type { Tally } from '../tally.js';
import { type CloudBatch, CloudBatches } from './cloud-batches.js';
import { type ClientTls, hostPort, type Sender, type Target } from './sender.js';

const gzipAsync = promisify(gzip) as (buf: Buffer, options: { level: number }) => Promise<Buffer>;

export interface HttpSenderOptions {
  /** Bearer token with the `ingest` scope; null for a keyless (loopback) intake. */
  apiKey: string | null;
  gzip: boolean;
  /** Requests in flight at once. */
  concurrency: number;
  maxRecords: number;
  maxBytes: number;
  /** How often a 503 (buffer full, adapter stopped) is retried after its Retry-After before the batch counts refused. */
  retries: number;
  /** Longest Retry-After honoured, in seconds. */
  maxRetryAfterSeconds: number;
}

/** Batches still open this long are sent even if not full, so a slow run delivers as it goes. */
const MAX_BATCH_AGE_MS = 1000;

interface Answer {
  status: number;
  body: string;
  retryAfter: number | null;
}

/**
 * The cloud intake client: `POST /api/v1/ingest/<type>` with batches in the provider's own shape,
 * gzip-compressed by default, a few requests in flight. 202 acknowledges the batch's records; 503
 * (buffer full, adapter stopped) is retried after Retry-After; any other answer refuses the batch's
 * records, counted by status with the receiver's message kept.
 */
export class HttpSender implements Sender {
  readonly acknowledges = true;
  readonly #base: string;
  readonly #tls: ClientTls | null;
  readonly #agent: HttpAgent;
  readonly #o: HttpSenderOptions;
  readonly #tally: Tally;
  readonly #batches: CloudBatches;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #ready: CloudBatch[] = [];
  #lastFlush = performance.now();

  constructor(target: Target, tls: ClientTls | null, options: HttpSenderOptions, tally: Tally) {
    this.#base = `${tls === null ? 'http' : 'https'}://${hostPort(target)}/api/v1/ingest/`;
    this.#tls = tls;
    this.#agent =
      tls === null
        ? new HttpAgent({ keepAlive: true, maxSockets: options.concurrency })
        : new HttpsAgent({
            keepAlive: true,
            maxSockets: options.concurrency,
            ca: tls.ca ?? undefined,
            rejectUnauthorized: !tls.insecure,
          });
    this.#o = options;
    this.#tally = tally;
    this.#batches = new CloudBatches(tally.kinds, options.maxRecords, options.maxBytes);
  }

  async send(batch: readonly GeneratedEvent[]): Promise<void> {
    for (const e of batch) this.#batches.add(e, this.#ready);
    const now = performance.now();
    if (now - this.#lastFlush >= MAX_BATCH_AGE_MS) {
      this.#batches.flush(this.#ready);
      this.#lastFlush = now;
    }
    await this.#dispatch();
  }

  async #dispatch(): Promise<void> {
    while (this.#ready.length > 0) {
      while (this.#inFlight.size >= this.#o.concurrency) await Promise.race(this.#inFlight);
      const b = this.#ready.shift()!;
      const p = this.#post(b).finally(() => this.#inFlight.delete(p));
      this.#inFlight.add(p);
    }
  }

  async #post(b: CloudBatch): Promise<void> {
    const tally = this.#tally;
    tally.addKinds(tally.sent, b.kinds);
    const raw = Buffer.from(b.body, 'utf8');
    const body = this.#o.gzip ? await gzipAsync(raw, { level: 6 }) : raw;
    tally.bytes += body.length;
    for (let attempt = 0; ; attempt++) {
      let a: Answer;
      try {
        a = await this.#request(b.type, body);
      } catch (err) {
        tally.error('http_connection', 1, (err as Error).message);
        tally.addKinds(tally.refused, b.kinds);
        return;
      }
      if (a.status === 202) {
        tally.addKinds(tally.acknowledged, b.kinds);
        return;
      }
      if (a.status === 503 && attempt < this.#o.retries) {
        tally.error('http_503_retried', 1, a.body.slice(0, 300));
        await sleep(Math.min(a.retryAfter ?? 1, this.#o.maxRetryAfterSeconds) * 1000);
        continue;
      }
      tally.error(`http_${a.status}`, 1, a.body.slice(0, 300));
      tally.addKinds(tally.refused, b.kinds);
      return;
    }
  }

  #request(type: string, body: Buffer): Promise<Answer> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'content-length': String(body.length),
    };
    if (this.#o.gzip) headers['content-encoding'] = 'gzip';
    if (this.#o.apiKey !== null) headers.authorization = `Bearer ${this.#o.apiKey}`;
    const request = this.#tls === null ? httpRequest : httpsRequest;
    return new Promise((resolve, reject) => {
      const req = request(
        `${this.#base}${type}`,
        { method: 'POST', agent: this.#agent, headers },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const ra = Number(res.headers['retry-after']);
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).toString('utf8'),
              retryAfter: Number.isFinite(ra) && ra >= 0 ? ra : null,
            });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  async close(): Promise<void> {
    this.#batches.flush(this.#ready);
    await this.#dispatch();
    await Promise.all(this.#inFlight);
    this.#agent.destroy();
  }
}
