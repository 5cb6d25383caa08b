import { readSync } from 'node:fs';
import { utf8Boundary } from '@siem/core';

const LF = 0x0a;
const CR = 0x0d;

/** Receives one line: a view valid only during the call, and its size before it was cut. */
export type LineHandler = (line: Buffer, originalBytes: number) => void;

/**
 * Splits a byte stream into lines ended by LF (a CR before it is dropped) without decoding them. A
 * line that fits in a chunk is handed on as a view of it; only a line that spans chunks is copied, and
 * of that at most `maxLineBytes` are kept: a longer line is cut there (never inside a UTF-8 character)
 * and handed on with its original size, so memory stays bounded whatever the input.
 */
export class LineSplitter {
  readonly #max: number;
  readonly #onLine: LineHandler;
  #carry: Buffer;
  #carryLen = 0;
  /** Bytes of the pending line seen so far (kept or not), and its last byte. */
  #carrySize = 0;
  #carryLast = -1;
  #pending = false;
  /** Lines cut at maxLineBytes so far. */
  truncatedLines = 0;

  constructor(maxLineBytes: number, onLine: LineHandler) {
    this.#max = maxLineBytes;
    this.#onLine = onLine;
    this.#carry = Buffer.allocUnsafe(Math.min(maxLineBytes, 64 * 1024));
  }

  /** Feeds a chunk; its complete lines are handed on before this returns. */
  push(chunk: Buffer): void {
    const len = chunk.length;
    let pos = 0;
    if (this.#pending) {
      const nl = chunk.indexOf(LF);
      if (nl < 0) {
        this.#keep(chunk, 0, len);
        return;
      }
      this.#keep(chunk, 0, nl);
      this.#flushCarry();
      pos = nl + 1;
    }
    let nl = chunk.indexOf(LF, pos);
    while (nl >= 0) {
      this.#emit(chunk.subarray(pos, nl), nl - pos, nl > pos ? chunk[nl - 1]! : -1);
      pos = nl + 1;
      nl = chunk.indexOf(LF, pos);
    }
    if (pos < len) {
      this.#pending = true;
      this.#keep(chunk, pos, len);
    }
  }

  /** End of the stream: a last line without LF is handed on too. */
  end(): void {
    if (this.#pending) this.#flushCarry();
  }

  #keep(chunk: Buffer, start: number, end: number): void {
    if (end === start) return;
    this.#carrySize += end - start;
    this.#carryLast = chunk[end - 1]!;
    const n = Math.min(this.#max - this.#carryLen, end - start);
    if (n <= 0) return;
    if (this.#carryLen + n > this.#carry.length) {
      const bigger = Buffer.allocUnsafe(
        Math.min(this.#max, Math.max(2 * this.#carry.length, this.#carryLen + n)),
      );
      this.#carry.copy(bigger, 0, 0, this.#carryLen);
      this.#carry = bigger;
    }
    chunk.copy(this.#carry, this.#carryLen, start, start + n);
    this.#carryLen += n;
  }

  #flushCarry(): void {
    const line = this.#carry.subarray(0, this.#carryLen);
    const size = this.#carrySize;
    const last = this.#carryLast;
    this.#carryLen = 0;
    this.#carrySize = 0;
    this.#carryLast = -1;
    this.#pending = false;
    this.#emit(line, size, last);
  }

  #emit(line: Buffer, originalBytes: number, last: number): void {
    let size = originalBytes;
    let kept = line;
    if (last === CR) {
      size--;
      if (kept.length > size) kept = kept.subarray(0, size);
    }
    if (kept.length > this.#max) kept = kept.subarray(0, utf8Boundary(kept, this.#max));
    else if (size > kept.length) kept = kept.subarray(0, utf8Boundary(kept, kept.length));
    if (size > kept.length) this.truncatedLines++;
    this.#onLine(kept, size);
  }
}

/**
 * Standard input in chunks of up to `chunkBytes`, each a view of one reused buffer that is valid until
 * the next one is asked for. Read with blocking reads (no stream, no copy); a non-blocking descriptor
 * (EAGAIN, when a parent left its end non-blocking) is read through process.stdin instead.
 */
export async function* stdinChunks(chunkBytes: number): AsyncGenerator<Buffer> {
  const buf = Buffer.allocUnsafe(chunkBytes);
  for (;;) {
    let n: number;
    try {
      n = readSync(0, buf, 0, chunkBytes, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      yield* process.stdin as AsyncIterable<Buffer>;
      return;
    }
    if (n === 0) return;
    yield buf.subarray(0, n);
  }
}
