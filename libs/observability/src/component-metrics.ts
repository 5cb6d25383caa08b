import type { Counter, Registry } from 'prom-client';
import { counter, metricsRegistry } from './metrics.js';

/**
 * The metrics every component reports under the same names, whatever its family (issue 17), so a
 * dashboard, an alert or `/api/v1/stats` reads one set of series for every source, buffer and sink.
 * A family's own metrics (connections, ACKs, circuit state, fill gauges …) stay beside these under
 * `siem_<family>_…`; a family counter that would repeat one of these does not exist.
 */
export type ComponentKind = 'source' | 'buffer' | 'sink';

/** Where an error happened: taking data in, working on it, or handing it on. */
export type ErrorStage = 'receiving' | 'processing' | 'sending';

/**
 * Which component a series belongs to. `id` is the instance (an adapter id such as `syslog_tcp` or
 * `fw_tcp`, `main` for the buffer), `type` what it is (`syslog_tcp`, `memory_disk`, `kafka`, …).
 */
export interface ComponentRef {
  id: string;
  kind: ComponentKind;
  type: string;
}

const COMPONENT_LABELS = ['component_id', 'component_kind', 'component_type'] as const;
type ComponentLabel = (typeof COMPONENT_LABELS)[number];

/** The fixed names, for readers of the registry (`/api/v1/stats`, the test helper, docs). */
export const COMPONENT_METRIC_NAMES = {
  receivedEvents: 'siem_component_received_events_total',
  receivedBytes: 'siem_component_received_bytes_total',
  sentEvents: 'siem_component_sent_events_total',
  discardedEvents: 'siem_component_discarded_events_total',
  errors: 'siem_component_errors_total',
} as const;

const collectHooks = new WeakMap<Registry, Set<() => void>>();

/**
 * For a component that counts in plain numbers on its hot path (the buffer) and pushes them into its
 * `ComponentMetrics` only when the series are read: `hook` runs before any vocabulary series of
 * `registry` is collected, so a scrape or a stats sample never sees them one read late. It runs once
 * per series read, so it must push deltas (idempotent). Returns the function that removes it.
 */
export function beforeComponentCollect(hook: () => void, registry: Registry = metricsRegistry): () => void {
  let hooks = collectHooks.get(registry);
  if (hooks === undefined) {
    hooks = new Set();
    collectHooks.set(registry, hooks);
  }
  hooks.add(hook);
  return () => hooks.delete(hook);
}

function vocabulary(registry: Registry) {
  const collect = (): void => {
    const hooks = collectHooks.get(registry);
    if (hooks !== undefined) for (const hook of hooks) hook();
  };
  return {
    receivedEvents: counter<ComponentLabel>(
      {
        name: COMPONENT_METRIC_NAMES.receivedEvents,
        help: 'Events a component took in (a source: from the network; a buffer or sink: from the stage before).',
        labelNames: COMPONENT_LABELS,
        collect,
      },
      registry,
    ),
    receivedBytes: counter<ComponentLabel>(
      {
        name: COMPONENT_METRIC_NAMES.receivedBytes,
        help: 'Bytes of the events a component took in, as they arrived.',
        labelNames: COMPONENT_LABELS,
        collect,
      },
      registry,
    ),
    sentEvents: counter<ComponentLabel>(
      {
        name: COMPONENT_METRIC_NAMES.sentEvents,
        help: 'Events a component handed on and the next stage accepted (for a sink: acknowledged by the service).',
        labelNames: COMPONENT_LABELS,
        collect,
      },
      registry,
    ),
    discardedEvents: counter<ComponentLabel | 'reason' | 'intentional'>(
      {
        name: COMPONENT_METRIC_NAMES.discardedEvents,
        help: 'Events a component dropped, by reason; intentional="true" for a policy drop (rate limit, drop_newest), "false" for a failure.',
        labelNames: [...COMPONENT_LABELS, 'reason', 'intentional'],
        collect,
      },
      registry,
    ),
    errors: counter<ComponentLabel | 'error_code' | 'stage'>(
      {
        name: COMPONENT_METRIC_NAMES.errors,
        help: 'Errors a component met, by error_code (a SIEM_ERR_ code or a short reason) and stage (receiving, processing, sending).',
        labelNames: [...COMPONENT_LABELS, 'error_code', 'stage'],
        collect,
      },
      registry,
    ),
  };
}

// Declared on the process registry when the module loads, so `/metrics` and docs/metrics.md list the
// vocabulary even before a component exists.
vocabulary(metricsRegistry);

type Child = ReturnType<Counter<string>['labels']>;

/** Labelled children resolved once; hot paths call these per batch, not per event. */
export class ComponentMetrics {
  readonly ref: ComponentRef;
  readonly #labels: Record<ComponentLabel, string>;
  readonly #receivedEvents: Child;
  readonly #receivedBytes: Child;
  readonly #sentEvents: Child;
  readonly #discardedFamily: Counter<ComponentLabel | 'reason' | 'intentional'>;
  readonly #errorsFamily: Counter<ComponentLabel | 'error_code' | 'stage'>;
  // Reasons and codes are bounded, so the children they need are kept rather than looked up per call.
  readonly #discarded = new Map<string, Child>();
  readonly #errors = new Map<string, Child>();

  constructor(ref: ComponentRef, registry: Registry = metricsRegistry) {
    this.ref = Object.freeze({ id: ref.id, kind: ref.kind, type: ref.type });
    this.#labels = { component_id: ref.id, component_kind: ref.kind, component_type: ref.type };
    const v = vocabulary(registry);
    this.#receivedEvents = v.receivedEvents.labels(this.#labels);
    this.#receivedBytes = v.receivedBytes.labels(this.#labels);
    this.#sentEvents = v.sentEvents.labels(this.#labels);
    this.#discardedFamily = v.discardedEvents;
    this.#errorsFamily = v.errors;
  }

  received(events: number, bytes: number): void {
    if (events > 0) this.#receivedEvents.inc(events);
    if (bytes > 0) this.#receivedBytes.inc(bytes);
  }

  sent(events: number): void {
    if (events > 0) this.#sentEvents.inc(events);
  }

  /** `intentional`: a policy said drop (rate limit, drop_newest); false: something failed. */
  discarded(reason: string, intentional: boolean, events = 1): void {
    if (events <= 0) return;
    const key = `${intentional ? 't' : 'f'}${reason}`;
    let child = this.#discarded.get(key);
    if (child === undefined) {
      child = this.#discardedFamily.labels({ ...this.#labels, reason, intentional: String(intentional) });
      this.#discarded.set(key, child);
    }
    child.inc(events);
  }

  error(code: string, stage: ErrorStage, count = 1): void {
    if (count <= 0) return;
    const key = `${stage}\u0000${code}`;
    let child = this.#errors.get(key);
    if (child === undefined) {
      child = this.#errorsFamily.labels({ ...this.#labels, error_code: code, stage });
      this.#errors.set(key, child);
    }
    child.inc(count);
  }
}
