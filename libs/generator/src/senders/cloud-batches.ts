import type { GeneratedEvent } from '../generator.js';
import type { CloudType, Kind } from '../kinds/kind.js';

/** One request body of the cloud intake and the kinds of the records it holds. */
export interface CloudBatch {
  type: CloudType;
  body: string;
  kinds: number[];
}

/** The batch shape each provider delivers: a CloudTrail log file, an Azure export, a GCP entries list. */
const WRAP: Record<CloudType, [string, string]> = {
  cloudtrail: ['{"Records":[', ']}'],
  azure_activity: ['{"records":[', ']}'],
  gcp_logging: ['{"entries":[', ']}'],
};

interface Open {
  parts: string[];
  kinds: number[];
  bytes: number;
}

/**
 * Gathers cloud records into request bodies per source type, up to `maxRecords` records or
 * `maxBytes` of JSON each (under the intake's defaults: 100 000 records, 10 MiB). A malformed record
 * travels alone — its body is the broken text — so it does not take a whole batch down with it.
 */
export class CloudBatches {
  readonly #kinds: readonly Kind[];
  readonly #maxRecords: number;
  readonly #maxBytes: number;
  readonly #open = new Map<CloudType, Open>();

  constructor(kinds: readonly Kind[], maxRecords: number, maxBytes: number) {
    this.#kinds = kinds;
    this.#maxRecords = maxRecords;
    this.#maxBytes = maxBytes;
  }

  /** Adds an event; returns the batches that are complete. */
  add(e: GeneratedEvent, out: CloudBatch[]): void {
    const type = this.#kinds[e.kind]!.cloudType!;
    if (e.malformed) {
      out.push({ type, body: e.text, kinds: [e.kind] });
      return;
    }
    let o = this.#open.get(type);
    if (
      o !== undefined &&
      (o.bytes + e.text.length + 1 > this.#maxBytes || o.parts.length >= this.#maxRecords)
    ) {
      out.push(this.#close(type, o));
      o = undefined;
    }
    if (o === undefined) {
      o = { parts: [], kinds: [], bytes: 16 };
      this.#open.set(type, o);
    }
    o.parts.push(e.text);
    o.kinds.push(e.kind);
    o.bytes += e.text.length + 1;
  }

  /** Every batch still open. */
  flush(out: CloudBatch[]): void {
    for (const [type, o] of this.#open) out.push(this.#close(type, o));
  }

  #close(type: CloudType, o: Open): CloudBatch {
    this.#open.delete(type);
    const [head, tail] = WRAP[type];
    return { type, body: `${head}${o.parts.join(',')}${tail}`, kinds: o.kinds };
  }
}
