import { createHash } from 'node:crypto';
import { type FSWatcher, readFileSync, watch } from 'node:fs';
import { dirname } from 'node:path';
import { createSecureContext, type SecureContextOptions, type TLSSocket } from 'node:tls';
import { SiemError, type TlsIdentity } from '@siem/core';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  caFile?: string;
}

interface RawMaterial {
  cert: Buffer;
  key: Buffer;
  ca: Buffer | undefined;
  hash: string;
}

export interface TlsMaterialEvents {
  /** New, valid material: the server swaps its context (existing connections keep theirs). */
  changed(options: SecureContextOptions): void;
  /** The files changed but do not make a valid context (yet): the old one stays. */
  failed(err: SiemError): void;
}

/**
 * The server certificate, key and client CA, read from files and reloaded when they change. Kubernetes
 * updates a mounted secret by swapping a symlink (`..data` → a new timestamped folder), so the folders
 * holding the files are watched (a watch on the file itself would follow the old target), and the
 * files are also re-read on a timer in case an event is missed. A change is applied only when the new
 * material makes a valid context: a certificate written before its key is retried, not applied half.
 */
export class TlsMaterial {
  readonly #files: TlsFiles;
  readonly #base: SecureContextOptions;
  readonly #events: TlsMaterialEvents;
  #hash = '';
  #failedHash = '';
  #watchers: FSWatcher[] = [];
  #timer: NodeJS.Timeout | null = null;
  #debounce: NodeJS.Timeout | null = null;

  constructor(files: TlsFiles, base: SecureContextOptions, events: TlsMaterialEvents) {
    this.#files = files;
    this.#base = base;
    this.#events = events;
  }

  /** Reads and checks the material; throws SIEM_ERR_TLS_MATERIAL when it is unusable. */
  load(): SecureContextOptions {
    const raw = this.#readRaw();
    const options = this.#validate(raw);
    this.#hash = raw.hash;
    return options;
  }

  #readRaw(): RawMaterial {
    const f = this.#files;
    let cert: Buffer;
    let key: Buffer;
    let ca: Buffer | undefined;
    try {
      cert = readFileSync(f.certFile);
      key = readFileSync(f.keyFile);
      ca = f.caFile === undefined ? undefined : readFileSync(f.caFile);
    } catch (cause) {
      throw new SiemError('SIEM_ERR_TLS_MATERIAL', `cannot read TLS files: ${String(cause)}`, { cause });
    }
    const hash = createHash('sha256')
      .update(cert)
      .update('\0')
      .update(key)
      .update('\0')
      .update(ca ?? '')
      .digest('hex');
    return { cert, key, ca, hash };
  }

  #validate(raw: { cert: Buffer; key: Buffer; ca: Buffer | undefined }): SecureContextOptions {
    const options: SecureContextOptions = {
      ...this.#base,
      cert: raw.cert,
      key: raw.key,
      ...(raw.ca === undefined ? {} : { ca: raw.ca }),
    };
    try {
      createSecureContext(options);
    } catch (cause) {
      throw new SiemError('SIEM_ERR_TLS_MATERIAL', `TLS certificate or key is not usable: ${String(cause)}`, {
        cause,
      });
    }
    return options;
  }

  /** Starts watching the folders of the files and re-reading them every `intervalMs` (0 = no timer). */
  watch(intervalMs: number): void {
    const f = this.#files;
    const dirs = new Set([dirname(f.certFile), dirname(f.keyFile), ...(f.caFile ? [dirname(f.caFile)] : [])]);
    for (const dir of dirs) {
      try {
        const w = watch(dir, { persistent: false }, () => this.#soon());
        w.on('error', () => undefined); // a folder that goes away: the timer still checks
        this.#watchers.push(w);
      } catch {
        /* no inotify (or no folder): the timer covers it */
      }
    }
    if (intervalMs > 0) {
      this.#timer = setInterval(() => this.check(), intervalMs);
      this.#timer.unref();
    }
  }

  #soon(): void {
    if (this.#debounce !== null) clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => {
      this.#debounce = null;
      this.check();
    }, 100);
    this.#debounce.unref();
  }

  /** Re-reads the files; applies them when they changed and make a valid context. Returns whether applied. */
  check(): boolean {
    let raw: RawMaterial;
    try {
      raw = this.#readRaw();
    } catch (err) {
      // unreadable now (mid-swap, deleted): report once, retry on the next event or tick
      if (this.#failedHash !== 'unreadable') this.#events.failed(err as SiemError);
      this.#failedHash = 'unreadable';
      return false;
    }
    if (raw.hash === this.#hash || raw.hash === this.#failedHash) return false;
    let options: SecureContextOptions;
    try {
      options = this.#validate(raw);
    } catch (err) {
      // e.g. a certificate written before its key: keep the old context, report these bytes once
      this.#failedHash = raw.hash;
      this.#events.failed(err as SiemError);
      return false;
    }
    this.#hash = raw.hash;
    this.#failedHash = '';
    this.#events.changed(options);
    return true;
  }

  close(): void {
    for (const w of this.#watchers) w.close();
    this.#watchers = [];
    if (this.#timer !== null) clearInterval(this.#timer);
    if (this.#debounce !== null) clearTimeout(this.#debounce);
    this.#timer = null;
    this.#debounce = null;
  }
}

/** The identity of a verified client certificate. */
export function clientIdentity(socket: TLSSocket): TlsIdentity | null {
  const cert = socket.getPeerCertificate();
  if (cert === null || cert === undefined || Object.keys(cert).length === 0) return null;
  const cn = cert.subject?.CN as string | string[] | undefined;
  return {
    subjectCn: Array.isArray(cn) ? (cn[0] ?? null) : (cn ?? null),
    sans: cert.subjectaltname ? cert.subjectaltname.split(', ').filter((s) => s.length > 0) : [],
    fingerprint256: cert.fingerprint256,
  };
}
