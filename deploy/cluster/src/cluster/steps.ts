import { ClusterError, type ClusterErrorCode } from './errors.js';

export type Log = (line: string) => void;

export const stdoutLog: Log = (line) => process.stdout.write(`${line}\n`);

export interface StepTiming {
  step: string;
  ms: number;
  note?: string;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/**
 * Runs named steps one after another, printing what each does and how long it took. A failing step
 * becomes a ClusterError naming the step (its code given by the caller), the cause kept.
 */
export class Steps {
  readonly timings: StepTiming[] = [];

  constructor(
    private readonly log: Log,
    private readonly code: ClusterErrorCode,
  ) {}

  /** `fn` may return a short note (`cached`, `3 certificates made`) printed beside the time. */
  async run<T>(step: string, fn: () => Promise<T>, note?: (result: T) => string | undefined): Promise<T> {
    this.log(`… ${step}`);
    const started = Date.now();
    try {
      const result = await fn();
      const ms = Date.now() - started;
      const n = note?.(result);
      this.timings.push({ step, ms, ...(n ? { note: n } : {}) });
      this.log(`✓ ${step} (${seconds(ms)}${n ? `, ${n}` : ''})`);
      return result;
    } catch (err) {
      const ms = Date.now() - started;
      this.log(`✗ ${step} failed after ${seconds(ms)}`);
      if (err instanceof ClusterError) throw err;
      throw new ClusterError(this.code, step, err instanceof Error ? err.message : String(err), {
        cause: err,
      });
    }
  }

  total(): number {
    return this.timings.reduce((sum, t) => sum + t.ms, 0);
  }
}
