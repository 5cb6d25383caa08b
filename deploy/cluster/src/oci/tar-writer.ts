import { createHash, type Hash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';

/** One entry of a layer written from memory or from a file on disk. */
export type TarEntry =
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'file'; path: string; mode?: number; content: Buffer | string }
  | { type: 'file'; path: string; mode?: number; sourceFile: string }
  | { type: 'symlink'; path: string; target: string };

const BLOCK = 512;
const ZEROS = Buffer.alloc(BLOCK * 2);

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function paxRecord(key: string, value: string): string {
  // The length prefix counts itself: grow it until it is stable.
  const body = ` ${key}=${value}\n`;
  let len = body.length + 1;
  while (`${len}${body}`.length !== len) len = `${len}${body}`.length;
  return `${len}${body}`;
}

/**
 * A POSIX (ustar + pax) tar stream written to a file, with a SHA-256 of every byte written, so a
 * layer's digest (its diff id: layers are stored uncompressed) is known when it is closed. Entries are
 * owned by root with a fixed mtime, so the same inputs always give the same bytes and digest.
 */
export class TarWriter {
  private readonly fd: number;
  private readonly hash: Hash = createHash('sha256');
  private size = 0;

  constructor(file: string) {
    this.fd = openSync(file, 'w');
  }

  private write(buf: Buffer): void {
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
    this.hash.update(buf);
    this.size += buf.length;
  }

  private pad(size: number): void {
    const rest = size % BLOCK;
    if (rest !== 0) this.write(ZEROS.subarray(0, BLOCK - rest));
  }

  private header(name: string, typeflag: string, size: number, mode: number, linkname = ''): void {
    const needsPax = Buffer.byteLength(name) > 100 || Buffer.byteLength(linkname) > 100;
    if (needsPax) {
      let records = paxRecord('path', name);
      if (linkname !== '') records += paxRecord('linkpath', linkname);
      const body = Buffer.from(records);
      this.rawHeader(`PaxHeaders/${name.slice(-80)}`, 'x', body.length, 0o644, '');
      this.write(body);
      this.pad(body.length);
    }
    this.rawHeader(needsPax ? name.slice(-100) : name, typeflag, size, mode, needsPax ? '' : linkname);
  }

  private rawHeader(name: string, typeflag: string, size: number, mode: number, linkname: string): void {
    const h = Buffer.alloc(BLOCK);
    h.write(name.slice(0, 100), 0, 100);
    h.write(octal(mode & 0o7777, 8), 100);
    h.write(octal(0, 8), 108); // uid
    h.write(octal(0, 8), 116); // gid
    h.write(octal(size, 12), 124);
    h.write(octal(0, 12), 136); // mtime: fixed, for reproducible digests
    h.write('        ', 148); // checksum placeholder: spaces while summing
    h.write(typeflag, 156);
    h.write(linkname.slice(0, 100), 157, 100);
    h.write('ustar\0', 257);
    h.write('00', 263);
    h.write('root', 265);
    h.write('root', 297);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    this.write(h);
  }

  add(entry: TarEntry): void {
    const path = entry.path.replace(/^\/+/, '');
    switch (entry.type) {
      case 'dir':
        this.header(path.endsWith('/') ? path : `${path}/`, '5', 0, entry.mode ?? 0o755);
        return;
      case 'symlink':
        this.header(path, '2', 0, 0o777, entry.target);
        return;
      case 'file':
        if ('content' in entry) {
          const body = typeof entry.content === 'string' ? Buffer.from(entry.content) : entry.content;
          this.header(path, '0', body.length, entry.mode ?? 0o644);
          this.write(body);
          this.pad(body.length);
        } else {
          this.addFile(path, entry.sourceFile, entry.mode);
        }
    }
  }

  /** Streams a file from disk into the archive (a layer of hundreds of MB never sits in memory). */
  private addFile(path: string, sourceFile: string, mode?: number): void {
    const src = openSync(sourceFile, 'r');
    try {
      const st = fstatSync(src);
      this.header(path, '0', st.size, mode ?? st.mode);
      const buf = Buffer.alloc(1 << 20);
      let left = st.size;
      while (left > 0) {
        const n = readSync(src, buf, 0, Math.min(buf.length, left), null);
        if (n === 0) throw new Error(`${sourceFile} shrank while it was being archived`);
        this.write(buf.subarray(0, n));
        left -= n;
      }
      this.pad(st.size);
    } finally {
      closeSync(src);
    }
  }

  /** Writes the end-of-archive blocks and closes the file; returns the archive's size and digest. */
  close(): { size: number; digest: string } {
    this.write(ZEROS);
    closeSync(this.fd);
    return { size: this.size, digest: `sha256:${this.hash.digest('hex')}` };
  }

  /** Closes the file without finishing the archive (after an error). */
  abort(): void {
    try {
      closeSync(this.fd);
    } catch {
      /* already closed */
    }
  }
}
