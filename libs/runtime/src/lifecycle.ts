import type { LoggerLike } from '@siem/core';

interface Stoppable {
  name: string;
  stop: () => Promise<void>;
}

/**
 * Ordered shutdown. Components register as they start; `shutdown` stops them in reverse order (adapters
 * stop accepting before the buffer flushes, the buffer flushes before the producer closes), each
 * within what is left of one overall deadline.
 */
export class Lifecycle {
  readonly #parts: Stoppable[] = [];
  readonly #logger: LoggerLike;
  #shutdown: Promise<void> | null = null;

  constructor(logger: LoggerLike) {
    this.#logger = logger;
  }

  add(name: string, stop: () => Promise<void>): void {
    this.#parts.push({ name, stop });
  }

  get stopping(): boolean {
    return this.#shutdown !== null;
  }

  shutdown(reason: string, deadlineMs = 30_000): Promise<void> {
    this.#shutdown ??= this.#run(reason, deadlineMs);
    return this.#shutdown;
  }

  async #run(reason: string, deadlineMs: number): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    this.#logger.info({ reason }, 'shutting down');
    for (const part of [...this.#parts].reverse()) {
      const left = Math.max(1_000, deadline - Date.now());
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          part.stop(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`did not stop within ${left} ms`)), left);
          }),
        ]);
      } catch (err) {
        this.#logger.error({ component: part.name, err }, 'stop failed');
      } finally {
        clearTimeout(timer);
      }
    }
    this.#logger.info({}, 'stopped');
  }

  /** SIGTERM/SIGINT run the shutdown once, then exit with `code` (0 when it went well). */
  installSignalHandlers(onDone: (code: number) => void = (code) => process.exit(code)): void {
    const handler = (signal: NodeJS.Signals) => {
      this.shutdown(signal).then(
        () => onDone(0),
        () => onDone(1),
      );
    };
    process.once('SIGTERM', handler);
    process.once('SIGINT', handler);
  }
}
