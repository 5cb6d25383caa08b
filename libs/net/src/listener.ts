import { isIPv6 } from 'node:net';
import {
  type BufferRecord,
  type ComponentState,
  type Intake,
  type LoggerLike,
  type OfferResult,
  SiemError,
  type Source,
  type SourceContext,
  type SourceStatus,
} from '@siem/core';
import { type Logger, RateLimitedLog } from '@siem/observability';
import type { ListenerMetrics } from './listener-metrics.js';

/** SO_REUSEPORT through `reusePort` in net and dgram: Node.js 22.12+ (and 23.1+). */
export const reusePortSupported = (() => {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  return major > 22 || (major === 22 && minor >= 12);
})();

/** `::ffff:10.0.0.1` → `10.0.0.1`: IPv4 peers of a dual-stack socket keep their IPv4 form. */
export function normalizePeer(address: string | undefined): string {
  if (address === undefined) return 'unknown';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

export function listenUrl(scheme: string, host: string, port: number): string {
  return `${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`;
}

/**
 * What every listener shares — the reference implementation the syslog listeners and the Windows events
 * listener build on: state, status, metrics, logging, and offering batches to the intake. A rejected
 * batch is counted here, record by record, under the intake's reason.
 */
export abstract class Listener<M extends ListenerMetrics = ListenerMetrics> implements Source {
  readonly name: string;
  readonly type: string;
  protected state: ComponentState = 'stopped';
  protected listening: string | null = null;
  protected lastError: string | undefined;
  protected readonly metrics: M;
  protected readonly log: RateLimitedLog;
  protected readonly logger: LoggerLike;
  protected readonly intake: Intake;
  protected readonly tenant: string;
  /** Names the listener in log messages ('syslog', 'Windows'). */
  protected readonly label: string;

  constructor(
    name: string,
    type: string,
    label: string,
    tenant: string | undefined,
    context: SourceContext,
    metrics: M,
  ) {
    this.name = name;
    this.type = type;
    this.label = label;
    this.logger = context.logger.child({ adapter: name, type });
    // RateLimitedLog only calls warn/error/info(fields, message), which LoggerLike has
    this.log = new RateLimitedLog(this.logger as unknown as Logger);
    this.intake = context.intake;
    this.tenant = tenant ?? context.tenant;
    this.metrics = metrics;
  }

  abstract start(): Promise<void>;
  abstract stop(): Promise<void>;

  status(): SourceStatus {
    return {
      name: this.name,
      type: this.type,
      state: this.state,
      listen: this.listening,
      counters: this.metrics.snapshot(),
      ...(this.lastError === undefined ? {} : { error: this.lastError }),
    };
  }

  protected beginStart(): void {
    if (this.state !== 'stopped' && this.state !== 'failed') {
      throw new SiemError(
        'SIEM_ERR_ADAPTER_STATE',
        `${this.name} is ${this.state}; it can only start when stopped`,
      );
    }
    this.state = 'starting';
    this.lastError = undefined;
  }

  protected failStart(err: unknown, what: string): SiemError {
    this.state = 'failed';
    const e =
      err instanceof SiemError
        ? err
        : new SiemError('SIEM_ERR_ADAPTER_LISTEN', `${this.name} cannot listen on ${what}: ${String(err)}`, {
            cause: err,
          });
    this.lastError = e.message;
    this.logger.error({ err: e }, `${this.label} listener failed to start`);
    return e;
  }

  protected warnReusePort(reusePort: boolean): boolean {
    if (reusePort && !reusePortSupported) {
      this.logger.warn(
        { node: process.versions.node },
        'reuse_port needs Node.js 22.12 or later; listening without SO_REUSEPORT',
      );
      return false;
    }
    return reusePort;
  }

  /** Offers a batch (flushing the batch's metrics first); a rejection is counted per record. */
  protected offer(records: BufferRecord[]): OfferResult {
    this.metrics.flush();
    if (records.length === 0) return 'ok';
    const r = this.intake.offer(records);
    if (r === 'rejected') this.#rejected(this.intake.rejectReason || 'rejected', records.length, 'discarded');
    return r;
  }

  /** Durable offer (see Intake.offerDurable); an intake without it refuses, counted as not durable. */
  protected async offerDurable(records: BufferRecord[]): Promise<OfferResult> {
    this.metrics.flush();
    if (records.length === 0) return 'ok';
    const durable = this.intake.offerDurable?.bind(this.intake);
    const r = durable === undefined ? 'rejected' : await durable(records);
    if (r === 'rejected') {
      const reason = durable === undefined ? 'not_durable' : this.intake.rejectReason || 'rejected';
      this.#rejected(reason, records.length, 'not acknowledged, the sender resends them');
    }
    return r;
  }

  /** The intake failed to take a batch: not a policy drop. Counted per record, logged once per interval. */
  #rejected(reason: string, events: number, outcome: string): void {
    this.metrics.discard(reason, false, events);
    this.log.warn(
      `rejected:${reason}`,
      { reason, events },
      `buffer rejected ${this.label} events: ${outcome}`,
    );
  }
}
