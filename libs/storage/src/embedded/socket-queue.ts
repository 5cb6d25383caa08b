/**
 * pglite-socket (0.0.21) serves many client connections from one PGlite session through a queue of
 * protocol messages, one message at a time. It keeps a connection's messages together only while the
 * session is inside an explicit transaction. Two other multi-message exchanges must not be split:
 *
 * - the start-up handshake (StartupMessage, then PasswordMessage): a start-up from a new connection
 *   processed between another connection's Parse…Sync resets the session's protocol state, and that
 *   connection's Sync then gets no ReadyForQuery — its query never completes (seen in the tier job
 *   when a pool opened a new connection mid-query);
 * - an extended-protocol exchange (Parse/Bind/Describe/Execute … Sync): another connection's query in
 *   between would end its implicit transaction.
 *
 * Also, the queue hands each answer over as PGlite returned it, possibly a view of PGlite's output
 * buffer, and goes on with the next message before the connection copies it: with messages of several
 * connections waiting, one connection could receive the start of another's answer.
 *
 * `pinExchanges` replaces the queue's scheduler with one that keeps serving the same connection until
 * such an exchange is complete, and copies each answer before handing it over. It relies on the queue's private shape, checked first; when the shape
 * is not the expected one it changes nothing and says so.
 *
 * `runBetweenExchanges` lets the engine's own process (the bulk channel) run a job on the session
 * through the same scheduler: the job waits its turn behind the queued messages, never runs inside a
 * connection's transaction or exchange, and no connection's message runs until it is done.
 */

import { createHash, timingSafeEqual } from 'node:crypto';

interface QueuedMessage {
  handlerId: number;
  message: Uint8Array;
  resolve(out: Uint8Array): void;
  reject(err: unknown): void;
  /** Set on the entries of runBetweenExchanges: run this instead of a protocol message. */
  job?: () => Promise<void>;
}

/** The handler id of jobs: pglite-socket numbers its connections from 1. */
const JOB_HANDLER = -1;
const pinnedQueues = new WeakSet<object>();

interface QueryQueue {
  queue: QueuedMessage[];
  processing: boolean;
  lastHandlerId: number | null;
  db: {
    isInTransaction(): boolean;
    runExclusive<T>(fn: () => Promise<T>): Promise<T>;
    execProtocolRaw(message: Uint8Array): Promise<Uint8Array>;
  };
  processQueue(): Promise<void>;
  clearQueueForHandler(id: number): void;
}

const PROTOCOL_3 = 196608;
const PASSWORD = 'p'.charCodeAt(0);
const TERMINATE = 'X'.charCodeAt(0);
const AUTH_REQUEST = 'R'.charCodeAt(0);
const AUTH_MD5 = 5;

export interface PinOptions {
  /**
   * The password every connection must give (MD5 exchange, user as given at start-up). Undefined:
   * PGlite's own behaviour, which takes any password.
   */
  password?: string;
  /**
   * A connection holding a transaction open while others wait is closed (its transaction rolled back)
   * after this long without a message of its own. 0: never.
   */
  idleTransactionMs?: number;
}

/** What the handshake of one connection reached (only tracked when a password is required). */
interface AuthState {
  user: string;
  salt: Buffer | null;
  ok: boolean;
}

function startupParams(m: Uint8Array): Map<string, string> {
  const parts = Buffer.from(m.buffer, m.byteOffset + 8, m.byteLength - 8)
    .toString('utf8')
    .split('\0');
  const out = new Map<string, string>();
  for (let i = 0; i + 1 < parts.length; i += 2) if (parts[i] !== '') out.set(parts[i]!, parts[i + 1]!);
  return out;
}

function isStartup(m: Uint8Array): boolean {
  if (m.length < 8) return false;
  const view = new DataView(m.buffer, m.byteOffset, m.byteLength);
  return view.getInt32(0) === m.length && view.getInt32(4) === PROTOCOL_3;
}

/** A FATAL ErrorResponse, as a server sends it before closing the connection. */
export function fatalError(code: string, message: string): Uint8Array {
  const body = Buffer.from(`SFATAL\0VFATAL\0C${code}\0M${message}\0\0`, 'utf8');
  const out = Buffer.alloc(5 + body.length);
  out[0] = 'E'.charCodeAt(0);
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

/** `md5` + md5(md5(password + user) + salt): what a client answers to AuthenticationMD5Password. */
export function md5Answer(password: string, user: string, salt: Buffer): string {
  const inner = createHash('md5')
    .update(password + user)
    .digest('hex');
  return `md5${createHash('md5')
    .update(Buffer.concat([Buffer.from(inner), salt]))
    .digest('hex')}`;
}

function passwordMessage(answer: string): Uint8Array {
  const body = Buffer.from(`${answer}\0`, 'utf8');
  const out = Buffer.alloc(5 + body.length);
  out[0] = PASSWORD;
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

function passwordOf(m: Uint8Array): string {
  const end = m.indexOf(0, 5);
  return Buffer.from(m.buffer, m.byteOffset + 5, (end === -1 ? m.length : end) - 5).toString('utf8');
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

interface Handler {
  handlerId: number;
  detach(close?: boolean): Promise<unknown>;
}

function handlerOf(server: unknown, id: number): Handler | undefined {
  const handlers = (server as { handlers?: Set<Handler> }).handlers;
  if (!(handlers instanceof Set)) return undefined;
  for (const h of handlers) if (h.handlerId === id) return h;
  return undefined;
}
const EXTENDED = new Set(['P', 'B', 'D', 'E', 'C', 'H'].map((c) => c.charCodeAt(0)));
const SYNC = 'S'.charCodeAt(0);

/** The connection to keep serving after this message, or null when its exchange is complete. */
function pinAfter(m: Uint8Array, handlerId: number): number | null {
  if (m.length >= 8) {
    const view = new DataView(m.buffer, m.byteOffset, m.byteLength);
    if (view.getInt32(0) === m.length && view.getInt32(4) === PROTOCOL_3) return handlerId; // start-up: password next
  }
  const type = m[0]!;
  if (EXTENDED.has(type)) return handlerId; // until its Sync
  if (type === SYNC) return null;
  return null; // PasswordMessage, Query, Terminate, …: complete in themselves
}

function isQueryQueue(q: unknown): q is QueryQueue {
  const x = q as Partial<QueryQueue> | null;
  return (
    x !== null &&
    typeof x === 'object' &&
    Array.isArray(x.queue) &&
    typeof x.processQueue === 'function' &&
    typeof x.clearQueueForHandler === 'function' &&
    typeof x.db?.execProtocolRaw === 'function' &&
    typeof x.db?.runExclusive === 'function' &&
    typeof x.db?.isInTransaction === 'function'
  );
}

/**
 * Installs the pinning scheduler on a PGLiteSocketServer; returns false when it could not.
 *
 * With `password`, it also checks each connection's password, which PGlite does not: PGlite asks
 * for MD5 and takes anything. The answer is compared with the one the password gives; a wrong one
 * gets a FATAL 28P01 and the connection is closed, and no message of a connection that has not
 * passed is run. (The password message still goes to PGlite, whose session must leave its
 * awaiting-password state; its answer is not sent.)
 */
export function pinExchanges(server: unknown, options: PinOptions = {}): boolean {
  const q = (server as { queryQueue?: unknown }).queryQueue;
  if (!isQueryQueue(q)) return false;
  let pinned: number | null = null;
  const auth = new Map<number, AuthState>();
  const close = (id: number, delayMs: number) => {
    setTimeout(() => void handlerOf(server, id)?.detach(true), delayMs).unref();
  };
  /** The answer to send instead of running `item`, or null to run it. */
  const gate = (item: QueuedMessage): Uint8Array | null => {
    if (options.password === undefined) return null;
    const state = auth.get(item.handlerId);
    if (isStartup(item.message)) {
      auth.set(item.handlerId, {
        user: startupParams(item.message).get('user') ?? '',
        salt: null,
        ok: false,
      });
      return null;
    }
    if (state?.ok === true) return null;
    if (item.message[0] === TERMINATE) return new Uint8Array(0);
    if (state !== undefined && state.salt !== null && item.message[0] === PASSWORD) {
      if (sameText(passwordOf(item.message), md5Answer(options.password, state.user, state.salt))) {
        state.ok = true;
        return null;
      }
    }
    auth.delete(item.handlerId);
    close(item.handlerId, 50);
    if (state?.salt != null) pendingHandshake = state;
    return fatalError('28P01', `password authentication failed for user "${state?.user ?? ''}"`);
  };
  /** A refused or vanished connection left PGlite awaiting a password: answer it, drop the answer. */
  let pendingHandshake: AuthState | null = null;
  const finishHandshake = async (state: AuthState) => {
    const message = passwordMessage(md5Answer(options.password!, state.user, state.salt!));
    await q.db.runExclusive(() => q.db.execProtocolRaw(message)).catch(() => undefined);
  };
  let idleSince = 0;
  let idleTimer: NodeJS.Timeout | null = null;
  const watchIdle = (owner: number) => {
    const limit = options.idleTransactionMs ?? 0;
    if (limit <= 0) return;
    if (idleSince === 0) idleSince = Date.now();
    idleTimer ??= setTimeout(() => {
      idleTimer = null;
      const current = pinned ?? (q.db.isInTransaction() ? q.lastHandlerId : null);
      if (current !== owner || q.queue.some((m) => m.handlerId === owner) || q.queue.length === 0) {
        idleSince = 0;
        return;
      }
      if (Date.now() - idleSince >= limit) {
        idleSince = 0;
        process.stderr.write(
          `timescale-server: connection ${owner} held a transaction idle for ${limit} ms while others waited: closed, rolled back\n`,
        );
        void handlerOf(server, owner)?.detach(true); // rolls back (pglite-socket) and serves the others
      } else watchIdle(owner);
    }, limit).unref();
  };

  q.processQueue = async function processQueue(this: QueryQueue): Promise<void> {
    if (this.processing || this.queue.length === 0) return;
    this.processing = true;
    try {
      while (this.queue.length > 0) {
        const owner = pinned ?? (this.db.isInTransaction() ? this.lastHandlerId : null);
        const at = owner === null ? 0 : this.queue.findIndex((m) => m.handlerId === owner);
        if (at === -1) {
          watchIdle(owner!); // wait for the owner's next message, not for ever
          break;
        }
        if (idleTimer !== null) {
          clearTimeout(idleTimer);
          idleTimer = null;
        }
        idleSince = 0;
        const item = this.queue.splice(at, 1)[0]!;
        if (item.job !== undefined) {
          pinned = null;
          await item.job(); // settles its own promise; never throws
          continue;
        }
        const refused = gate(item);
        if (refused !== null) {
          if (pinned === item.handlerId) pinned = null;
          const half = pendingHandshake;
          pendingHandshake = null;
          if (half !== null) await finishHandshake(half);
          item.resolve(refused);
          continue;
        }
        try {
          const out = await this.db.runExclusive(() => this.db.execProtocolRaw(item.message));
          this.lastHandlerId = item.handlerId;
          pinned = pinAfter(item.message, item.handlerId);
          const state = auth.get(item.handlerId);
          if (state !== undefined && state.salt === null && out[0] === AUTH_REQUEST && out.length >= 13) {
            const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
            if (view.getInt32(5) === AUTH_MD5) state.salt = Buffer.from(out.slice(9, 13));
          }
          // The answer may be a view of PGlite's output buffer, which the next message overwrites
          // before this connection's handler gets to copy it: copy it now.
          item.resolve(out.slice());
        } catch (err) {
          pinned = null;
          item.reject(err);
        }
      }
    } finally {
      this.processing = false;
    }
  };

  const clear = q.clearQueueForHandler.bind(q);
  q.clearQueueForHandler = (id: number) => {
    clear(id);
    const state = auth.get(id);
    auth.delete(id);
    if (state !== undefined && !state.ok && state.salt !== null && pinned === id) {
      // gone between the password request and its answer: PGlite still waits for one
      q.queue.unshift({
        handlerId: JOB_HANDLER,
        message: new Uint8Array(0),
        resolve: () => undefined,
        reject: () => undefined,
        job: () => finishHandshake(state),
      });
    }
    if (pinned === id) {
      pinned = null; // the connection went away mid-exchange: serve the others
      void q.processQueue();
    }
  };
  pinnedQueues.add(server as object);
  return true;
}

/**
 * Runs `job` on the session between two connections' exchanges (see above). Rejects at once when
 * the pinning scheduler is not installed on this server: without it a job could land inside a
 * connection's transaction.
 */
export function runBetweenExchanges<T>(server: unknown, job: () => Promise<T>): Promise<T> {
  const q = (server as { queryQueue?: unknown }).queryQueue;
  if (!pinnedQueues.has(server as object) || !isQueryQueue(q)) {
    return Promise.reject(new Error('the wire server has no pinning scheduler: jobs cannot be placed'));
  }
  return new Promise<T>((resolve, reject) => {
    q.queue.push({
      handlerId: JOB_HANDLER,
      message: new Uint8Array(0),
      resolve: () => undefined,
      reject,
      job: () => job().then(resolve, reject),
    });
    void q.processQueue();
  });
}
