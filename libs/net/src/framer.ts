/**
 * RFC 6587 framing for syslog over TCP and TLS: octet counting (`MSG-LEN SP SYSLOG-MSG`) and
 * non-transparent framing (messages ended by LF, optionally NUL), detected once per connection.
 *
 * Detection: a connection is octet-counted when it starts with `[1-9][0-9]* <` — a length, a space and
 * the `<` of a PRI. A message that merely starts with a digit (`2024-01-18 …`, `123 apples`) is read
 * with LF framing.
 *
 * Memory is bounded per connection: at most `maxMessageBytes` of one frame are kept; the rest of a
 * longer frame is skipped and the message is delivered truncated with its original size. A frame longer
 * than `maxFrameBytes`, or an octet count that is not a number (a lying count runs into text), is an
 * error: the caller closes the connection.
 */
export type FrameError = 'bad_octet_count' | 'frame_too_large';

export type FramingMode = 'detect' | 'octet_counting' | 'non_transparent';

/** Receives one frame: `payload` (a view, valid only during the call) and the size before truncation. */
export type FrameHandler = (payload: Buffer, originalSize: number) => void;

export interface FramerOptions {
  maxMessageBytes: number;
  maxFrameBytes: number;
  nulDelimiter: boolean;
}

const LF = 0x0a;
const CR = 0x0d;
const NUL = 0x00;
const SP = 0x20;
const LT = 0x3c;
const MAX_COUNT_DIGITS = 10;
const UNDECIDED = -1;
const NOTHING = -2;

export class StreamFramer {
  readonly #maxMessage: number;
  readonly #maxFrame: number;
  readonly #nul: boolean;
  readonly #onFrame: FrameHandler;
  #mode: FramingMode = 'detect';
  /** Bytes held while the framing is not decided yet (a few digits at most). */
  #detect: Buffer | null = null;
  #detectFrom = 0;
  /** The kept part of the current frame when it spans chunks (or is over the message size). */
  #acc: Buffer;
  #accLen = 0;
  /** Bytes of the current frame seen so far (kept or skipped). */
  #frameSize = 0;
  // octet counting
  #readingCount = true;
  #count = 0;
  #countDigits = 0;
  #need = 0;
  #declared = 0;

  constructor(options: FramerOptions, onFrame: FrameHandler) {
    this.#maxMessage = options.maxMessageBytes;
    this.#maxFrame = Math.max(options.maxFrameBytes, options.maxMessageBytes);
    this.#nul = options.nulDelimiter;
    this.#onFrame = onFrame;
    this.#acc = Buffer.allocUnsafe(Math.min(this.#maxMessage, 4096));
  }

  get mode(): FramingMode {
    return this.#mode;
  }

  /** Bytes held for an incomplete frame (bounded by maxMessageBytes). */
  get pendingBytes(): number {
    return this.#accLen + (this.#detect?.length ?? 0);
  }

  /** Feeds a chunk; frames are delivered synchronously. Returns an error when the stream is unusable. */
  push(chunk: Buffer): FrameError | null {
    if (this.#mode === 'detect') {
      const data = this.#detect === null ? chunk : Buffer.concat([this.#detect, chunk]);
      this.#detect = null;
      const decided = this.#decide(data);
      if (decided === NOTHING) return null;
      if (decided === UNDECIDED) {
        this.#detect = Buffer.from(data.subarray(this.#detectFrom)); // undecided: keep the digits
        return null;
      }
      return (this.#mode as FramingMode) === 'octet_counting'
        ? this.#pushOctet(data, decided)
        : this.#pushLines(data, decided);
    }
    return this.#mode === 'octet_counting' ? this.#pushOctet(chunk, 0) : this.#pushLines(chunk, 0);
  }

  /** End of stream: delivers what is pending (a last line without LF; a cut octet frame, truncated). */
  end(): void {
    if (this.#detect !== null) {
      const d = this.#detect;
      this.#detect = null;
      this.#mode = 'non_transparent';
      this.#pushLines(d, 0);
    }
    if (this.#mode === 'non_transparent') {
      if (this.#frameSize > 0) this.#emitAcc(this.#frameSize, true);
    } else if (this.#mode === 'octet_counting' && !this.#readingCount) {
      this.#emitAcc(this.#declared, false);
      this.#readingCount = true;
    }
    this.#frameSize = 0;
    this.#accLen = 0;
  }

  /** Decides the framing from the first bytes: returns where data starts, or UNDECIDED / NOTHING. */
  #decide(data: Buffer): number {
    let i = 0;
    while (i < data.length && (data[i] === LF || data[i] === CR || data[i] === NUL)) i++;
    if (i >= data.length) return NOTHING; // only line ends so far: nothing to keep
    const first = data[i]!;
    this.#detectFrom = i;
    if (first >= 0x31 && first <= 0x39) {
      let j = i + 1;
      while (j < data.length && j - i < MAX_COUNT_DIGITS && data[j]! >= 0x30 && data[j]! <= 0x39) j++;
      if (j >= data.length || (j + 1 >= data.length && data[j] === SP)) {
        if (j - i < MAX_COUNT_DIGITS) return UNDECIDED; // `123` or `123 ` so far: wait for the next byte
      } else if (data[j] === SP && data[j + 1] === LT) {
        this.#mode = 'octet_counting';
        return i;
      }
    }
    this.#mode = 'non_transparent';
    return i;
  }

  #keep(chunk: Buffer, start: number, end: number): void {
    const room = this.#maxMessage - this.#accLen;
    const n = Math.min(room, end - start);
    if (n <= 0) return;
    if (this.#accLen + n > this.#acc.length) {
      const bigger = Buffer.allocUnsafe(
        Math.min(this.#maxMessage, Math.max(this.#acc.length * 2, this.#accLen + n)),
      );
      this.#acc.copy(bigger, 0, 0, this.#accLen);
      this.#acc = bigger;
    }
    chunk.copy(this.#acc, this.#accLen, start, start + n);
    this.#accLen += n;
  }

  #emitAcc(originalSize: number, stripCr: boolean): void {
    let len = this.#accLen;
    let size = originalSize;
    if (stripCr && len > 0 && len === size && this.#acc[len - 1] === CR) {
      len--;
      size--;
    }
    this.#accLen = 0;
    this.#onFrame(this.#acc.subarray(0, len), size);
  }

  #nextDelimiter(chunk: Buffer, from: number): number {
    const lf = chunk.indexOf(LF, from);
    if (!this.#nul) return lf;
    const nul = chunk.indexOf(NUL, from);
    if (nul < 0) return lf;
    return lf < 0 ? nul : Math.min(lf, nul);
  }

  #pushLines(chunk: Buffer, start: number): FrameError | null {
    let pos = start;
    const len = chunk.length;
    while (pos < len) {
      const d = this.#nextDelimiter(chunk, pos);
      if (d < 0) {
        this.#keep(chunk, pos, len);
        this.#frameSize += len - pos;
        if (this.#frameSize > this.#maxFrame) {
          this.#emitAcc(this.#frameSize, false);
          this.#frameSize = 0;
          return 'frame_too_large';
        }
        return null;
      }
      const n = d - pos;
      if (this.#frameSize === 0) {
        // the whole frame is in this chunk: deliver a view, no copy
        let end = d;
        if (end > pos && chunk[end - 1] === CR) end--;
        const size = end - pos;
        this.#onFrame(chunk.subarray(pos, pos + Math.min(size, this.#maxMessage)), size);
      } else {
        this.#keep(chunk, pos, d);
        this.#frameSize += n;
        if (this.#frameSize > this.#maxFrame) {
          this.#emitAcc(this.#frameSize, false);
          this.#frameSize = 0;
          return 'frame_too_large';
        }
        this.#emitAcc(this.#frameSize, true);
        this.#frameSize = 0;
      }
      pos = d + 1;
    }
    return null;
  }

  #pushOctet(chunk: Buffer, start: number): FrameError | null {
    let pos = start;
    const len = chunk.length;
    while (pos < len) {
      if (this.#readingCount) {
        const b = chunk[pos]!;
        if (this.#countDigits === 0 && (b === LF || b === CR || b === NUL)) {
          pos++; // some senders end octet-counted frames with a line end too
          continue;
        }
        if (b >= 0x30 && b <= 0x39) {
          if (this.#countDigits === 0 && b === 0x30) return 'bad_octet_count';
          this.#count = this.#count * 10 + (b - 0x30);
          if (++this.#countDigits > MAX_COUNT_DIGITS) return 'bad_octet_count';
          pos++;
          continue;
        }
        if (b !== SP || this.#countDigits === 0) return 'bad_octet_count';
        pos++;
        if (this.#count > this.#maxFrame) return 'frame_too_large';
        this.#declared = this.#count;
        this.#need = this.#count;
        this.#count = 0;
        this.#countDigits = 0;
        this.#readingCount = false;
        this.#accLen = 0;
        continue;
      }
      const take = Math.min(this.#need, len - pos);
      if (this.#accLen === 0 && take === this.#need && this.#need === this.#declared) {
        // the whole frame is in this chunk: deliver a view, no copy
        this.#onFrame(chunk.subarray(pos, pos + Math.min(take, this.#maxMessage)), this.#declared);
      } else {
        this.#keep(chunk, pos, pos + take);
        if (take === this.#need) this.#emitAcc(this.#declared, false);
      }
      this.#need -= take;
      pos += take;
      if (this.#need === 0) this.#readingCount = true;
    }
    return null;
  }
}
