/**
 * The filters of GET /api/v1/events, the histogram and the tail, as the console's forms hold them: one
 * text per field (several values separated by commas) plus a time range (a preset or from/to).
 */
export const filterFields = [
  { name: 'q', label: 'Text', hint: 'message contains' },
  { name: 'tenant', label: 'Tenant' },
  { name: 'host', label: 'Host' },
  { name: 'source_type', label: 'Source type', hint: 'syslog, windows, cloudtrail, …' },
  { name: 'severity', label: 'Severity', hint: 'error, 3, …' },
  { name: 'min_severity', label: 'At least', hint: 'warning' },
  { name: 'category', label: 'Category', hint: 'authentication, network, …' },
  { name: 'action', label: 'Action' },
  { name: 'outcome', label: 'Outcome', hint: 'success, failure, unknown' },
  { name: 'user', label: 'User' },
  { name: 'src_ip', label: 'Source IP', hint: '10.0.0.0/8' },
  { name: 'dst_ip', label: 'Destination IP' },
  { name: 'event_code', label: 'Event code', hint: '4625' },
] as const;

/** Fields that take one value only (the API refuses repeats). */
const SINGLE = new Set(['q', 'min_severity']);

export const rangePresets = [
  { value: '15m', label: 'last 15 minutes', ms: 15 * 60_000 },
  { value: '1h', label: 'last hour', ms: 3_600_000 },
  { value: '24h', label: 'last 24 hours', ms: 86_400_000 },
  { value: '7d', label: 'last 7 days', ms: 7 * 86_400_000 },
  { value: '30d', label: 'last 30 days', ms: 30 * 86_400_000 },
] as const;

export type FilterValues = Record<string, string>;

/** The form's values from the page URL (range defaults to the last hour). */
export function valuesFromParams(p: URLSearchParams): FilterValues {
  const v: FilterValues = {};
  for (const f of filterFields) {
    const all = p.getAll(f.name);
    if (all.length > 0) v[f.name] = all.join(', ');
  }
  for (const k of ['range', 'from', 'to']) {
    const x = p.get(k);
    if (x !== null && x !== '') v[k] = x;
  }
  if (v.range === undefined && v.from === undefined) v.range = '1h';
  return v;
}

/** The page URL's parameters of the form's values (what is shared and reloaded). */
export function paramsFromValues(v: FilterValues): URLSearchParams {
  const p = new URLSearchParams();
  if (v.from !== undefined && v.from !== '') {
    p.set('from', v.from);
    if (v.to !== undefined && v.to !== '') p.set('to', v.to);
  } else p.set('range', v.range ?? '1h');
  for (const f of filterFields) {
    const text = (v[f.name] ?? '').trim();
    if (text === '') continue;
    if (SINGLE.has(f.name)) p.set(f.name, text);
    else
      for (const part of text.split(',')) {
        const x = part.trim();
        if (x !== '') p.append(f.name, x);
      }
  }
  return p;
}

/** [from, to) in ms of a page URL's time range, as of `now`. */
export function rangeOf(p: URLSearchParams, now = Date.now()): { fromMs: number; toMs: number } {
  const from = p.get('from');
  if (from !== null && from !== '') {
    const to = p.get('to');
    const toMs = to === null || to === '' ? now : Date.parse(to);
    return { fromMs: Date.parse(from), toMs };
  }
  const preset = rangePresets.find((r) => r.value === p.get('range')) ?? rangePresets[1];
  return { fromMs: now - preset.ms, toMs: now };
}

/** The API query of a page URL: its filters, with the range resolved to absolute from/to. */
export function apiQuery(p: URLSearchParams, withRange: boolean, now = Date.now()): URLSearchParams {
  const out = new URLSearchParams();
  for (const f of filterFields) for (const v of p.getAll(f.name)) out.append(f.name, v);
  if (withRange) {
    const { fromMs, toMs } = rangeOf(p, now);
    out.set('from', new Date(fromMs).toISOString());
    out.set('to', new Date(toMs).toISOString());
  }
  return out;
}

const NICE_MS = [
  1,
  5,
  10,
  30,
  60,
  300,
  600,
  1800,
  3600,
  3 * 3600,
  6 * 3600,
  12 * 3600,
  86_400,
  7 * 86_400,
].map((s) => s * 1000);

/** A histogram interval giving about `buckets` bars over the range (`30s`, `5m`, `1h`, …). */
export function intervalFor(spanMs: number, buckets = 90): { text: string; ms: number } {
  const want = spanMs / buckets;
  const ms = NICE_MS.find((n) => n >= want) ?? NICE_MS[NICE_MS.length - 1]!;
  const s = ms / 1000;
  const text =
    s % 604_800 === 0
      ? `${s / 604_800}w`
      : s % 86_400 === 0
        ? `${s / 86_400}d`
        : s % 3600 === 0
          ? `${s / 3600}h`
          : s % 60 === 0
            ? `${s / 60}m`
            : `${s}s`;
  return { text, ms };
}
