/**
 * One frame of `siem top`, as plain text: rendering is a pure function of what the API answered, so
 * the frame is tested without a terminal and `--once` prints exactly what the dashboard shows.
 */

type Rates = { '1m': number | null; '5m': number | null; '15m': number | null };
type Tree = { [k: string]: unknown };

export interface TopInput {
  api: string;
  /** The /api/v1/stats answer. */
  stats: Tree;
  /** /health/ready checks (kafka, database, buffer…) and how long the answer took. */
  ready: Record<string, { ok: boolean; detail?: string }> | null;
  readyMs: number | null;
  /** Mean latency since the previous frame (or since start on the first), seconds; null: not measured here. */
  latency: { kafka: number | null; database: number | null };
  /** Set when the API did not answer this time (the frame shows the last figures it had). */
  error?: string | undefined;
  color: boolean;
}

const isRates = (v: unknown): v is Rates => typeof v === 'object' && v !== null && '1m' in v;

function num(v: number | null | undefined): string {
  if (v === null || v === undefined) return '-';
  if (v === 0) return '0';
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) >= 1) return v.toFixed(1);
  return v.toFixed(3);
}

function bytes(n: number | undefined): string {
  const v = n ?? 0;
  if (v < 1024) return `${v} B`;
  if (v < 1024 ** 2) return `${(v / 1024).toFixed(1)} KiB`;
  if (v < 1024 ** 3) return `${(v / 1024 ** 2).toFixed(1)} MiB`;
  return `${(v / 1024 ** 3).toFixed(2)} GiB`;
}

function ms(seconds: number | null): string {
  return seconds === null ? '-' : `${(seconds * 1000).toFixed(1)} ms`;
}

/** Rows of `name  1m  5m  15m` for every rates leaf under `tree`, with dotted names. */
function rateRows(tree: unknown, prefix = ''): Array<[string, Rates]> {
  if (typeof tree !== 'object' || tree === null) return [];
  const out: Array<[string, Rates]> = [];
  for (const [k, v] of Object.entries(tree)) {
    const name = prefix === '' ? k : `${prefix}.${k}`;
    if (isRates(v)) out.push([name, v]);
    else out.push(...rateRows(v, name));
  }
  return out;
}

function table(title: string, rows: Array<[string, Rates]>, bold: (s: string) => string): string[] {
  if (rows.length === 0) return [bold(title), '  (nothing yet)'];
  const w = Math.max(24, ...rows.map(([n]) => n.length));
  const head = `${title.padEnd(w + 2)}${'1m/s'.padStart(12)}${'5m/s'.padStart(12)}${'15m/s'.padStart(12)}`;
  return [
    bold(head),
    ...rows.map(
      ([n, r]) =>
        `  ${n.padEnd(w)}${num(r['1m']).padStart(12)}${num(r['5m']).padStart(12)}${num(r['15m']).padStart(12)}`,
    ),
  ];
}

/** Adapter rows: only the event counters a person watches (received, discarded, parse errors…). */
function adapterRows(adapters: unknown): Array<[string, Rates]> {
  return rateRows(adapters).filter(
    ([n, r]) =>
      /(events|records|errors|drops|requests)$/.test(n) && (r['15m'] !== 0 || n.endsWith('received_events')),
  );
}

export function renderTopFrame(t: TopInput): string {
  const bold = (s: string) => (t.color ? `\x1b[1m${s}\x1b[22m` : s);
  const red = (s: string) => (t.color ? `\x1b[31m${s}\x1b[39m` : s);
  const s = t.stats;
  const lines: string[] = [];
  lines.push(
    `${bold('siem top')}  ${t.api}  at ${String(s.at ?? '-')}  (sampled every ${String(s.sample_ms ?? '?')} ms, ${String(s.covered_seconds ?? 0)} s covered)`,
  );
  if (t.error !== undefined) lines.push(red(`API: ${t.error} (showing the last answer)`));
  lines.push('');
  lines.push(...table('ADAPTERS', adapterRows(s.adapters), bold));
  lines.push('');
  lines.push(...table('STAGES', rateRows(s.stages), bold));
  lines.push('');
  lines.push(bold('BUFFER'));
  const buffers = Object.entries((s.buffer ?? {}) as Record<string, Record<string, number>>);
  if (buffers.length === 0) lines.push('  (none in this role)');
  for (const [name, b] of buffers) {
    const fill = (b.memory_fill_ratio ?? 0) * 100;
    lines.push(
      `  ${name}: memory ${fill.toFixed(1)} % (${b.memory_events ?? 0} events, ${bytes(b.memory_bytes)}), ` +
        `disk ${bytes(b.disk_bytes)} in ${b.disk_segments ?? 0} segments, spilling ${b.spilling === 1 ? 'yes' : 'no'}, ` +
        `${b.paused === 1 ? red('PAUSED (holding back the intake)') : 'accepting'}`,
    );
  }
  lines.push('');
  lines.push(bold('DEPENDENCIES'));
  if (t.ready === null) lines.push('  readiness unknown');
  else {
    for (const [name, c] of Object.entries(t.ready)) {
      const state = c.ok ? 'ok' : red(`NOT READY${c.detail ? `: ${c.detail}` : ''}`);
      const latency =
        name === 'kafka'
          ? `, delivery ${ms(t.latency.kafka)}`
          : name === 'database'
            ? `, write ${ms(t.latency.database)}`
            : '';
      lines.push(`  ${name.padEnd(10)} ${state}${latency}`);
    }
    if (t.readyMs !== null) lines.push(`  (readiness answered in ${t.readyMs.toFixed(0)} ms)`);
  }
  lines.push('');
  const errors = (s.errors ?? {}) as Tree;
  const ratio = errors.ratio as Rates | undefined;
  const { ratio: _ratio, ...drops } = errors;
  const dropRows = rateRows(drops);
  lines.push(...table('DROPS AND ERRORS', dropRows, bold));
  if (ratio !== undefined)
    lines.push(`  share of received events lost: ${num(ratio['1m'])} (1m)  ${num(ratio['5m'])} (5m)`);
  return lines.join('\n');
}

/** The sum of every series of a histogram's `_sum` and `_count` in parsed /metrics. */
export function histogramTotals(metrics: Map<string, number>, name: string): { sum: number; count: number } {
  let sum = 0;
  let count = 0;
  for (const [k, v] of metrics) {
    if (k === `${name}_sum` || k.startsWith(`${name}_sum{`)) sum += v;
    else if (k === `${name}_count` || k.startsWith(`${name}_count{`)) count += v;
  }
  return { sum, count };
}

/** Mean of a histogram between two readings (null when nothing was observed in between). */
export function meanSince(
  now: { sum: number; count: number },
  before: { sum: number; count: number } | null,
): number | null {
  const b = before ?? { sum: 0, count: 0 };
  const n = now.count - b.count;
  if (n <= 0) return before === null ? null : meanSince(now, null);
  return (now.sum - b.sum) / n;
}
