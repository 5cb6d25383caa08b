import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import type { GeneratedEvent } from '../generator.js';
import type { Tally } from '../tally.js';
import { type CloudBatch, CloudBatches } from './cloud-batches.js';
import { encodeFrames, type Sender } from './sender.js';

export interface FileSenderOptions {
  /** `lines`: each event on its own line (syslog, Windows JSON); `cloud-batches`: each request body on its own line. */
  shape: 'lines' | 'cloud-batches';
  maxRecords: number;
  maxBytes: number;
}

/**
 * `--out FILE`: the payloads a protocol would carry, written instead of sent, for load tools that
 * replay them (one syslog line or Windows JSON document per line; for the cloud intake, one request
 * body per line, ready to POST to /api/v1/ingest/<type> — the type is the body's batch key). `-`
 * writes to stdout.
 */
export class FileSender implements Sender {
  readonly acknowledges = false;
  readonly #out: NodeJS.WritableStream | WriteStream;
  readonly #ownsStream: boolean;
  readonly #tally: Tally;
  readonly #o: FileSenderOptions;
  readonly #batches: CloudBatches;

  constructor(path: string, options: FileSenderOptions, tally: Tally) {
    this.#ownsStream = path !== '-';
    this.#out = this.#ownsStream ? createWriteStream(path) : process.stdout;
    this.#o = options;
    this.#tally = tally;
    this.#batches = new CloudBatches(tally.kinds, options.maxRecords, options.maxBytes);
  }

  async #write(buf: Buffer): Promise<void> {
    this.#tally.bytes += buf.length;
    if (!this.#out.write(buf)) await once(this.#out as NodeJS.EventEmitter, 'drain');
  }

  #bodies(ready: CloudBatch[]): Buffer {
    let s = '';
    for (const b of ready) {
      s += `${b.body}\n`;
      this.#tally.addKinds(this.#tally.sent, b.kinds);
    }
    return Buffer.from(s, 'utf8');
  }

  async send(batch: readonly GeneratedEvent[]): Promise<void> {
    if (this.#o.shape === 'lines') {
      for (let i = 0; i < batch.length; i++) this.#tally.sent[batch[i]!.kind]!++;
      await this.#write(encodeFrames(batch, 'lf'));
      return;
    }
    const ready: CloudBatch[] = [];
    for (const e of batch) this.#batches.add(e, ready);
    if (ready.length > 0) await this.#write(this.#bodies(ready));
  }

  async close(): Promise<void> {
    const ready: CloudBatch[] = [];
    this.#batches.flush(ready);
    if (ready.length > 0) await this.#write(this.#bodies(ready));
    if (this.#ownsStream) {
      const out = this.#out as WriteStream;
      await new Promise<void>((resolve, reject) =>
        out.end((err?: Error | null) => (err ? reject(err) : resolve())),
      );
    }
  }
}
