import { CloudRequestError } from './errors.js';

/**
 * A streaming, validating JSON scanner for cloud batches: fed the decoded body chunk by chunk (the
 * caller yields to the event loop between chunks), it checks the whole body is one JSON value and
 * finds the records of the batch — their byte ranges and the rows each will become — without building
 * any object. A body that is too deep, holds too many rows or too large a record is refused as soon
 * as the scan reaches the point that proves it, not after a full JSON.parse: a 50 KB gzip body of
 * `[{},{},…]` (49 MB, 17 M objects) is refused after its first `max_records` objects, in milliseconds.
 *
 * Which values are records (as `splitRecords` read them from JSON.parse before):
 * - the elements of a top-level array;
 * - the elements of the array under the batch key of a top-level object (`Records`, `records`,
 *   `entries`; with the key repeated, the last one counts, as in JSON.parse);
 * - else the top-level object itself.
 *
 * Rows: the normalizer expands a record that is itself a batch (`{"Records": [...]}` inside an array
 * body) into its elements, so such a record counts as that many rows (at least one); the total is
 * what `maxRecords` bounds. Every byte ≥ 0x80 is only valid inside strings, where the scanner passes
 * it through (UTF-8 validity is checked on the whole body afterwards).
 */

export interface ScanLimits {
  maxRecords: number;
  maxRecordBytes: number;
  maxDepth: number;
}

/** One record: its bytes [start, end) in the decoded body, and the rows it becomes. */
export interface ScannedRecord {
  start: number;
  end: number;
  rows: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const MINUS = 0x2d;

// parser states
const S_VALUE = 0; // a value must come
const S_VALUE_OR_CLOSE = 1; // just after '['
const S_KEY_OR_CLOSE = 2; // just after '{'
const S_KEY = 3; // after ',' in an object
const S_COLON = 4;
const S_AFTER = 5; // after a value: ',', a close, or the end
const S_STRING = 6;
const S_ESCAPE = 7;
const S_UNICODE = 8;
const S_NUMBER = 9;
const S_LITERAL = 10;

// number sub-states
const N_MINUS = 0;
const N_ZERO = 1;
const N_INT = 2;
const N_DOT = 3;
const N_FRAC = 4;
const N_E = 5;
const N_E_SIGN = 6;
const N_EXP = 7;

// what a container is, for the record bookkeeping
const R_OTHER = 0;
const R_TOP_OBJECT = 1; // a top-level object: a batch object or one record
const R_BATCH = 2; // the array whose elements are records
const R_RECORD = 3; // a record object (its members are looked at for a nested batch)
const R_NESTED = 4; // a record's own batch array: its elements are rows

const MAX_KEY_CAPTURE = 512;
const BOM = [0xef, 0xbb, 0xbf];

const isWs = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isHex = (c: number) => isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);

interface Frame {
  object: boolean;
  role: number;
  /** The key of the member whose value comes next (objects whose keys matter), else null. */
  key: string | null;
}

export class BatchScanner {
  readonly #key: Buffer;
  readonly #keyText: string;
  readonly #limits: ScanLimits;
  /** Open containers: `#pool[0..#depth)`; the frames are reused, not allocated per container. */
  readonly #pool: Frame[] = [];
  #depth = 0;
  #state = S_VALUE;
  #pos = 0; // absolute offset of the next byte
  #bom = 0;
  #done = false; // the top-level value is complete
  #sawValue = false;
  // strings
  #stringIsKey = false;
  #keyParts: number[] | null = null;
  #unicodeLeft = 0;
  // numbers and literals
  #numState = N_MINUS;
  #literal = '';
  #literalAt = 0;
  // records
  #topArray = false;
  #batch: ScannedRecord[] = [];
  /** Whether the last batch key of a top-level object held an array (null: no batch key seen). */
  #batchKeyArray: boolean | null = null;
  #recordStart = -1;
  #nested = -1; // elements of the current record's nested batch; -1: none
  #rows = 0;
  #topStart = 0;
  #topEnd = 0;

  constructor(batchKey: string, limits: ScanLimits) {
    this.#keyText = batchKey;
    this.#key = Buffer.from(batchKey);
    this.#limits = limits;
  }

  /** Bytes scanned so far. */
  get scanned(): number {
    return this.#pos;
  }

  /** Scans the next chunk of the body; throws a CloudRequestError when the body is refused. */
  write(b: Buffer): void {
    const n = b.length;
    let i = 0;
    if (this.#bom < 3 && this.#pos < 3) {
      // a UTF-8 byte order mark at the very start is skipped (some shippers write one)
      while (i < n && this.#bom < 3 && b[i] === BOM[this.#bom] && this.#pos + i === this.#bom) {
        this.#bom++;
        i++;
      }
      if (this.#bom < 3 && i < n) this.#bom = 3;
    }
    while (i < n) {
      const c = b[i]!;
      switch (this.#state) {
        case S_STRING: {
          // the hot path: run to the next quote, backslash or control character
          let j = i;
          while (j < n) {
            const x = b[j]!;
            if (x === QUOTE || x === BACKSLASH || x < 0x20) break;
            j++;
          }
          if (this.#keyParts !== null) this.#capture(b, i, j);
          if (j === n) {
            i = n;
            continue;
          }
          const x = b[j]!;
          if (x === QUOTE) {
            i = j + 1;
            this.#endString();
          } else if (x === BACKSLASH) {
            if (this.#keyParts !== null) this.#capture(b, j, j + 1);
            this.#state = S_ESCAPE;
            i = j + 1;
          } else {
            this.#fail(j, 'a control character inside a string');
          }
          continue;
        }
        case S_ESCAPE: {
          if (this.#keyParts !== null) this.#capture(b, i, i + 1);
          if (c === 0x75) {
            this.#state = S_UNICODE;
            this.#unicodeLeft = 4;
          } else if (
            c === QUOTE ||
            c === BACKSLASH ||
            c === 0x2f ||
            c === 0x62 ||
            c === 0x66 ||
            c === 0x6e ||
            c === 0x72 ||
            c === 0x74
          ) {
            this.#state = S_STRING;
          } else this.#fail(i, 'a bad escape');
          i++;
          continue;
        }
        case S_UNICODE: {
          if (!isHex(c)) this.#fail(i, 'a bad \\u escape');
          if (this.#keyParts !== null) this.#capture(b, i, i + 1);
          if (--this.#unicodeLeft === 0) this.#state = S_STRING;
          i++;
          continue;
        }
        case S_NUMBER: {
          if (this.#number(c)) {
            i++;
            continue;
          }
          this.#endNumber(i);
          continue; // the byte that ended the number is read in the new state
        }
        case S_LITERAL: {
          if (c !== this.#literal.charCodeAt(this.#literalAt)) this.#fail(i, `a misspelt ${this.#literal}`);
          i++;
          if (++this.#literalAt === this.#literal.length) this.#endScalar();
          continue;
        }
        default:
          break;
      }
      if (isWs(c)) {
        i++;
        continue;
      }
      const at = this.#pos + i;
      switch (this.#state) {
        case S_VALUE:
        case S_VALUE_OR_CLOSE:
          if (this.#state === S_VALUE_OR_CLOSE && c === CLOSE_ARRAY) this.#close(at);
          else this.#value(c, at, i);
          break;
        case S_KEY_OR_CLOSE:
        case S_KEY:
          if (this.#state === S_KEY_OR_CLOSE && c === CLOSE_OBJECT) this.#close(at);
          else if (c === QUOTE) this.#beginString(true);
          else this.#fail(i, 'a member name where one must come');
          break;
        case S_COLON:
          if (c !== COLON) this.#fail(i, "a missing ':'");
          this.#state = S_VALUE;
          break;
        case S_AFTER: {
          const top = this.#top();
          if (top === undefined) this.#fail(i, 'more after the end of the JSON value');
          else if (c === COMMA) this.#state = top.object ? S_KEY : S_VALUE;
          else if (c === (top.object ? CLOSE_OBJECT : CLOSE_ARRAY)) this.#close(at);
          else this.#fail(i, top.object ? "a missing ',' or '}'" : "a missing ',' or ']'");
          break;
        }
      }
      i++;
    }
    this.#pos += n;
    if (this.#recordStart >= 0 && this.#pos - this.#recordStart > this.#limits.maxRecordBytes) {
      this.#recordTooLarge(this.#batch.length, this.#pos - this.#recordStart, true);
    }
  }

  /** The end of the body: its records, or a CloudRequestError. */
  end(): ScannedRecord[] {
    if (this.#state === S_NUMBER) this.#endNumber(0);
    if (!this.#done) {
      if (!this.#sawValue)
        throw new CloudRequestError(400, 'empty_body', 'the body is empty: send a JSON batch');
      throw new CloudRequestError(400, 'invalid_json', 'the body is not valid JSON: it ends inside a value');
    }
    if (this.#topArray || this.#batchKeyArray === true) return this.#batch;
    // a top-level object without a batch array is one record
    const size = this.#topEnd - this.#topStart;
    if (size > this.#limits.maxRecordBytes) this.#recordTooLarge(0, size, false);
    return [{ start: this.#topStart, end: this.#topEnd, rows: 1 }];
  }

  #top(): Frame | undefined {
    return this.#depth === 0 ? undefined : this.#pool[this.#depth - 1];
  }

  #push(object: boolean, role: number): void {
    let f = this.#pool[this.#depth];
    if (f === undefined) {
      f = { object, role, key: null };
      this.#pool.push(f);
    } else {
      f.object = object;
      f.role = role;
      f.key = null;
    }
    this.#depth++;
  }

  #fail(i: number, what: string): never {
    const at = i < 0 ? this.#pos : this.#pos + i;
    throw new CloudRequestError(400, 'invalid_json', `the body is not valid JSON: ${what} at byte ${at}`);
  }

  /** A value starts with byte `c` at absolute offset `at` (`i` within the chunk). */
  #value(c: number, at: number, i: number): void {
    const parent = this.#top();
    const role = parent?.role;
    this.#sawValue = true;
    if (role === R_BATCH) {
      if (c !== OPEN_OBJECT) {
        throw new CloudRequestError(
          400,
          'record_not_object',
          `record ${this.#batch.length} of the batch is not a JSON object`,
        );
      }
      this.#recordStart = at;
      this.#nested = -1;
    } else if (role === R_NESTED) {
      this.#nested++;
      this.#checkRows();
    }
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      const object = c === OPEN_OBJECT;
      let own = R_OTHER;
      if (parent === undefined) {
        if (object) own = R_TOP_OBJECT;
        else {
          own = R_BATCH;
          this.#topArray = true;
        }
        this.#topStart = at;
      } else if (role === R_BATCH) own = R_RECORD;
      else if (!object && parent.key === this.#keyText && role === R_RECORD) {
        own = R_NESTED; // a record's own batch: the normalizer makes a row of each element
        this.#nested = 0;
      }
      if (role === R_TOP_OBJECT && parent!.key === this.#keyText) {
        // the batch array of a top-level object (with the key repeated, the last one counts)
        this.#batchKeyArray = !object;
        if (!object) {
          own = R_BATCH;
          this.#batch = [];
          this.#rows = 0;
        }
      }
      if (this.#depth >= this.#limits.maxDepth) {
        throw new CloudRequestError(
          400,
          'too_deep',
          `the body nests deeper than ${this.#limits.maxDepth} levels (cloud_http.max_json_depth)`,
        );
      }
      this.#push(object, own);
      this.#state = object ? S_KEY_OR_CLOSE : S_VALUE_OR_CLOSE;
      return;
    }
    const scalar = c === QUOTE || c === MINUS || isDigit(c) || c === 0x74 || c === 0x66 || c === 0x6e;
    if (!scalar) this.#fail(i, 'an unexpected character');
    if (parent === undefined) {
      throw new CloudRequestError(
        400,
        'not_a_batch',
        `the body must be a JSON object (a record or a {"${this.#keyText}": [...]} batch) or an array of records`,
      );
    }
    if (role === R_TOP_OBJECT && parent.key === this.#keyText) this.#batchKeyArray = false;
    if (c === QUOTE) this.#beginString(false);
    else if (c === MINUS || isDigit(c)) {
      this.#state = S_NUMBER;
      this.#numState = c === MINUS ? N_MINUS : c === 0x30 ? N_ZERO : N_INT;
    } else if (c === 0x74 || c === 0x66 || c === 0x6e) {
      this.#literal = c === 0x74 ? 'true' : c === 0x66 ? 'false' : 'null';
      this.#literalAt = 1;
      this.#state = S_LITERAL;
    } else this.#fail(i, 'an unexpected character');
  }

  #beginString(isKey: boolean): void {
    this.#state = S_STRING;
    this.#stringIsKey = isKey;
    if (isKey) {
      const role = this.#top()!.role;
      this.#keyParts = role === R_TOP_OBJECT || role === R_RECORD ? [] : null;
    } else this.#keyParts = null;
  }

  #capture(b: Buffer, from: number, to: number): void {
    const parts = this.#keyParts!;
    if (parts.length + (to - from) > MAX_KEY_CAPTURE) {
      this.#keyParts = null; // far longer than any batch key: it is not one
      return;
    }
    for (let k = from; k < to; k++) parts.push(b[k]!);
  }

  #endString(): void {
    if (this.#stringIsKey) {
      const frame = this.#top()!;
      frame.key = this.#keyName();
      this.#keyParts = null;
      this.#state = S_COLON;
      return;
    }
    this.#endScalar();
  }

  /** The captured member name, when it may be the batch key. */
  #keyName(): string | null {
    const parts = this.#keyParts;
    if (parts === null) return null;
    if (!parts.includes(BACKSLASH)) {
      return parts.length === this.#key.length && this.#key.equals(Buffer.from(parts)) ? this.#keyText : null;
    }
    try {
      return JSON.parse(`"${Buffer.from(parts).toString('utf8')}"`) as string;
    } catch {
      return null;
    }
  }

  /** Whether `c` continues the number. */
  #number(c: number): boolean {
    switch (this.#numState) {
      case N_MINUS:
        if (c === 0x30) this.#numState = N_ZERO;
        else if (isDigit(c)) this.#numState = N_INT;
        else return false;
        return true;
      case N_ZERO:
      case N_INT:
        if (isDigit(c) && this.#numState === N_INT) return true;
        if (c === 0x2e) this.#numState = N_DOT;
        else if (c === 0x65 || c === 0x45) this.#numState = N_E;
        else return false;
        return true;
      case N_DOT:
        if (!isDigit(c)) return false;
        this.#numState = N_FRAC;
        return true;
      case N_FRAC:
        if (isDigit(c)) return true;
        if (c !== 0x65 && c !== 0x45) return false;
        this.#numState = N_E;
        return true;
      case N_E:
        if (c === 0x2b || c === MINUS) this.#numState = N_E_SIGN;
        else if (isDigit(c)) this.#numState = N_EXP;
        else return false;
        return true;
      case N_E_SIGN:
        if (!isDigit(c)) return false;
        this.#numState = N_EXP;
        return true;
      default:
        return isDigit(c);
    }
  }

  #endNumber(i: number): void {
    const s = this.#numState;
    if (s === N_MINUS || s === N_DOT || s === N_E || s === N_E_SIGN) this.#fail(i, 'a malformed number');
    this.#endScalar();
  }

  /** A string, number or literal ended (not a member name). */
  #endScalar(): void {
    this.#state = S_AFTER;
    this.#afterValue();
  }

  #close(at: number): void {
    const frame = this.#pool[--this.#depth]!;
    this.#state = S_AFTER;
    if (frame.role === R_RECORD) {
      const size = at + 1 - this.#recordStart;
      if (size > this.#limits.maxRecordBytes) this.#recordTooLarge(this.#batch.length, size, false);
      const rows = Math.max(1, this.#nested);
      this.#batch.push({ start: this.#recordStart, end: at + 1, rows });
      this.#rows += rows;
      this.#recordStart = -1;
      this.#nested = -1;
      this.#checkRows();
    }
    if (this.#depth === 0) {
      this.#done = true;
      this.#topEnd = at + 1;
      return;
    }
    this.#afterValue();
  }

  /** A member's value ended: its key no longer applies. */
  #afterValue(): void {
    const top = this.#top();
    if (top === undefined) {
      this.#done = true;
      return;
    }
    if (top.object) top.key = null;
  }

  #checkRows(): void {
    const rows = this.#rows + Math.max(0, this.#nested);
    if (rows > this.#limits.maxRecords) {
      throw new CloudRequestError(
        413,
        'too_many_records',
        `the batch holds more than ${this.#limits.maxRecords} records (counting those of nested batches); at most ${this.#limits.maxRecords} per request (cloud_http.max_records): split it`,
      );
    }
  }

  #recordTooLarge(index: number, size: number, atLeast: boolean): never {
    throw new CloudRequestError(
      413,
      'record_too_large',
      `record ${index} of the batch is ${atLeast ? 'over ' : ''}${size} bytes; at most ${this.#limits.maxRecordBytes} per record`,
    );
  }
}
