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

/** Installs the pinning scheduler on a PGLiteSocketServer; returns false when it could not. */
export function pinExchanges(server: unknown): boolean {
  const q = (server as { queryQueue?: unknown }).queryQueue;
  if (!isQueryQueue(q)) return false;
  let pinned: number | null = null;

  q.processQueue = async function processQueue(this: QueryQueue): Promise<void> {
    if (this.processing || this.queue.length === 0) return;
    this.processing = true;
    try {
      while (this.queue.length > 0) {
        const owner = pinned ?? (this.db.isInTransaction() ? this.lastHandlerId : null);
        const at = owner === null ? 0 : this.queue.findIndex((m) => m.handlerId === owner);
        if (at === -1) break; // wait for the owner's next message
        const item = this.queue.splice(at, 1)[0]!;
        if (item.job !== undefined) {
          pinned = null;
          await item.job(); // settles its own promise; never throws
          continue;
        }
        try {
          const out = await this.db.runExclusive(() => this.db.execProtocolRaw(item.message));
          this.lastHandlerId = item.handlerId;
          pinned = pinAfter(item.message, item.handlerId);
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
