import { useEffect, useRef, useState } from 'preact/hooks';
import type uPlot from 'uplot';
import { api, type Health, readiness, type Whoami } from '../api';
import { Chart } from '../components/chart';
import { ErrorNote, missingScope, ScopeNote } from '../components/notice';

/** Seconds of history the charts keep (15 minutes at 1 s). */
const KEEP = 900;

type Tree = { [k: string]: Tree | number | null };

const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
const sub = (t: unknown, k: string): Tree => {
  const v = (t as Tree | undefined)?.[k];
  return typeof v === 'object' && v !== null ? v : {};
};

/** Counters flattened to `path → total`, from the stats answer's `totals`. */
function flatten(t: Tree, prefix = '', out = new Map<string, number>()): Map<string, number> {
  for (const [k, v] of Object.entries(t)) {
    const p = prefix === '' ? k : `${prefix}.${k}`;
    if (typeof v === 'number') out.set(p, v);
    else if (v !== null && typeof v === 'object') flatten(v, p, out);
  }
  return out;
}

/**
 * Time series of per-second rates, derived from successive `totals` of /api/v1/stats (the answer's own
 * rates are 1/5/15-minute averages: too coarse for a live chart). Series appear as their paths do.
 */
class History {
  readonly times: number[] = [];
  readonly series = new Map<string, (number | null)[]>();
  #last: { t: number; totals: Map<string, number> } | null = null;

  push(tSec: number, totals: Map<string, number>, gauges: Map<string, number>): void {
    const prev = this.#last;
    this.#last = { t: tSec, totals };
    if (prev === null || tSec <= prev.t) return;
    const dt = tSec - prev.t;
    this.times.push(tSec);
    const n = this.times.length;
    const put = (path: string, v: number | null) => {
      let s = this.series.get(path);
      if (s === undefined) {
        s = new Array<number | null>(n - 1).fill(null);
        this.series.set(path, s);
      }
      s.push(v);
    };
    for (const [path, total] of totals) {
      const before = prev.totals.get(path) ?? 0;
      put(path, Math.max(0, (total - before) / dt));
    }
    for (const [path, v] of gauges) put(path, v);
    for (const s of this.series.values()) if (s.length < n) s.push(null);
    if (n > KEEP) {
      this.times.shift();
      for (const s of this.series.values()) s.shift();
    }
  }

  /** uPlot data of the series whose path matches, labelled by `label`. */
  select(match: (path: string) => string | null): { labels: string[]; data: uPlot.AlignedData } {
    const labels: string[] = [];
    const cols: (number | null)[][] = [];
    for (const [path, values] of [...this.series].sort(([a], [b]) => a.localeCompare(b))) {
      const label = match(path);
      if (label === null) continue;
      labels.push(label);
      cols.push([...values]);
    }
    return { labels, data: [[...this.times], ...cols] as uPlot.AlignedData };
  }

  latest(path: string): number | null {
    const s = this.series.get(path);
    return s === undefined ? null : (s[s.length - 1] ?? null);
  }
}

interface Snapshot {
  totals: Tree;
  tree: Tree;
}

function gaugesOf(tree: Tree): Map<string, number> {
  const out = new Map<string, number>();
  const lag = num(sub(tree, 'kafka').consumer_lag_records);
  if (lag !== null) out.set('kafka.consumer_lag_records', lag);
  for (const [b, v] of Object.entries(sub(tree, 'buffer'))) {
    for (const k of ['memory_fill_ratio', 'disk_bytes', 'spilling', 'paused'] as const) {
      const x = num((v as Tree)?.[k]);
      if (x !== null) out.set(`buffer.${b}.${k}`, x);
    }
  }
  return out;
}

/** Why the banner is red: readiness checks failing, the buffer spilling to disk, events dropped or lost. */
function problems(health: Health | null, tree: Tree | null, history: History): string[] {
  const out: string[] = [];
  for (const [name, c] of Object.entries(health?.checks ?? {})) {
    if (!c.ok) out.push(`${name} is down${c.detail ? `: ${c.detail}` : ''}`);
  }
  if (num(sub(tree, 'storage').breaker_state) === 2) out.push('database circuit open: writes are held back');
  if (num(sub(tree, 'storage').breaker_state) === 1)
    out.push('database circuit half-open: probing the database');
  for (const [b, v] of Object.entries(sub(tree, 'buffer'))) {
    if (num((v as Tree)?.spilling) === 1) out.push(`buffer ${b} is spilling to disk`);
    if (num((v as Tree)?.paused) === 1) out.push(`buffer ${b} is full: intake paused`);
  }
  const lost = history.latest('errors.lost') ?? 0;
  const dropped = history.latest('errors.dropped') ?? 0;
  if (lost > 0) out.push(`${lost.toFixed(1)} events/s lost by failure`);
  if (dropped > 0) out.push(`${dropped.toFixed(1)} events/s dropped by policy`);
  return out;
}

export function OverviewPage({ me }: { me: Whoami | null }) {
  const history = useRef(new History());
  const [tick, setTick] = useState(0);
  const [snap, setSnap] = useState<Snapshot | null>(null);
  const [health, setHealth] = useState<Health | null>(null);
  const [error, setError] = useState<unknown>(null);
  const noRead = missingScope(me, 'read');

  useEffect(() => {
    if (noRead !== null) return;
    let stopped = false;
    let n = 0;
    const poll = async () => {
      try {
        const body = await api<Tree & { totals?: Tree }>('/api/v1/stats');
        if (stopped) return;
        const totals = flatten(sub(body, 'totals'));
        history.current.push(Date.now() / 1000, totals, gaugesOf(body));
        setSnap({ totals: sub(body, 'totals'), tree: body });
        setError(null);
        if (n++ % 5 === 0) setHealth(await readiness());
        setTick((t) => t + 1);
      } catch (e) {
        if (!stopped) setError(e);
      }
    };
    void poll();
    const timer = setInterval(poll, 1000);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [noRead]);

  if (noRead !== null) return <ScopeNote text={noRead} />;
  const h = history.current;
  const received = h.select((p) => (/^adapters\.[^.]+\.received_events$/.test(p) ? p.split('.')[1]! : null));
  const stages = h.select((p) => {
    const m = /^stages\.(received|buffered|kafka_delivered|normalized|stored)$/.exec(p);
    return m === null ? null : m[1]!;
  });
  const drops = h.select((p) => {
    const m = /^errors\.(dropped|lost)_by\.([^.]+)\.([^.]+)$/.exec(p);
    return m === null ? null : `${m[1]} ${m[2]} ${m[3]}`;
  });
  const fill = h.select((p) => {
    const m = /^buffer\.([^.]+)\.memory_fill_ratio$/.exec(p);
    return m === null ? null : m[1]!;
  });
  const disk = h.select((p) => {
    const m = /^buffer\.([^.]+)\.disk_bytes$/.exec(p);
    return m === null ? null : m[1]!;
  });
  const lag = h.select((p) => (p === 'kafka.consumer_lag_records' ? 'records behind' : null));
  const issues = problems(health, snap?.tree ?? null, h);
  const stagesTotal = sub(snap?.totals, 'stages');
  const tile = (name: string, label: string) => (
    <div class="tile" data-testid={`stat-${name}`}>
      <span class="label">{label}</span>
      <span class="value">{num(stagesTotal[name])?.toLocaleString('en') ?? '–'}</span>
      <span class="rate">{(h.latest(`stages.${name}`) ?? 0).toFixed(1)}/s</span>
    </div>
  );
  return (
    <div class="overview" data-tick={tick}>
      {issues.length > 0 ? (
        <div class="banner bad" role="alert" data-testid="banner">
          {issues.map((i) => (
            <div key={i}>{i}</div>
          ))}
        </div>
      ) : (
        <div class="banner good" data-testid="banner">
          All good{health === null ? '' : `: ${Object.keys(health.checks ?? {}).join(', ')} ready`}
        </div>
      )}
      <ErrorNote error={error} />
      <div class="tiles">
        {tile('received', 'Received')}
        {tile('buffered', 'Buffered')}
        {tile('kafka_delivered', 'Sent to Kafka')}
        {tile('stored', 'Stored')}
      </div>
      <p class="hint">Per-second rates since this page opened (up to 15 minutes), from /api/v1/stats.</p>
      <div class="charts">
        <Chart title="Received events/s by adapter" testId="chart-received" {...received} />
        <Chart title="Pipeline events/s" testId="chart-stages" {...stages} />
        <Chart title="Dropped and lost events/s by reason" testId="chart-drops" {...drops} />
        <Chart title="Buffer memory fill (0–1)" testId="chart-fill" {...fill} />
        <Chart title="Buffer disk spill (bytes)" testId="chart-disk" {...disk} />
        {lag.labels.length > 0 && <Chart title="Kafka consumer lag (records)" testId="chart-lag" {...lag} />}
      </div>
      <section class="checks">
        <h3>Dependencies</h3>
        <table>
          <tbody>
            {Object.entries(health?.checks ?? {}).map(([name, c]) => (
              <tr key={name}>
                <td>{name}</td>
                <td class={c.ok ? 'ok' : 'bad'}>{c.ok ? 'ready' : 'down'}</td>
                <td data-testid={`latency-${name}`}>
                  {c.latency_ms === undefined ? '' : `${c.latency_ms} ms`}
                </td>
                <td>{c.detail ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </div>
  );
}
