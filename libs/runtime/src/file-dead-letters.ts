import { isUtf8 } from 'node:buffer';
import { mkdirSync } from 'node:fs';
import { appendFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { BufferRecord } from '@siem/core';
import type { DeadLetters } from './normalizing-sink.js';

/**
 * Dead letters of the all role, which has no Kafka: one JSON line per record in
 * `<dir>/<YYYY-MM-DD>.ndjson` (reason, error, key, the raw record), synced before the batch counts as
 * handled. `siem` tooling and people can read them back; nothing is dropped silently.
 */
export class FileDeadLetters implements DeadLetters {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
    mkdirSync(dir, { recursive: true });
  }

  async deadLetter(records: readonly BufferRecord[], reason: string, error: string): Promise<void> {
    const at = new Date().toISOString();
    const lines = records.map((r) =>
      JSON.stringify({
        at,
        reason,
        error,
        key: r.key,
        ...(isUtf8(r.value)
          ? { value: r.value.toString('utf8') }
          : { value_base64: r.value.toString('base64') }),
      }),
    );
    const file = join(this.#dir, `${at.slice(0, 10)}.ndjson`);
    await appendFile(file, `${lines.join('\n')}\n`);
    const fh = await open(file, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
}
