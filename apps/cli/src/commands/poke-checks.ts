import { readdirSync } from 'node:fs';
import { baseClientConfig, clusterMetadata } from '@siem/kafka';
import type { RootConfig } from '@siem/runtime';
import { createPool, defaultMigrationsDir, intervalMs, recordedEngine } from '@siem/storage';
import { type ApiClient, answerReason } from './api-client.js';
import { UnreachableError } from './cli-support.js';

/** One line of `siem poke`: ok (✓), failed (✗) or not applicable here (–), and why. */
export interface CheckResult {
  name: string;
  status: 'ok' | 'failed' | 'skipped';
  detail: string;
}

const MARK = { ok: '✓', failed: '✗', skipped: '–' } as const;

export function formatChecks(results: readonly CheckResult[], color = false): string {
  const width = Math.max(...results.map((r) => r.name.length));
  const paint = (r: CheckResult) => {
    const m = MARK[r.status];
    if (!color) return m;
    return r.status === 'ok' ? `\x1b[32m${m}\x1b[39m` : r.status === 'failed' ? `\x1b[31m${m}\x1b[39m` : m;
  };
  return results.map((r) => `${paint(r)} ${r.name.padEnd(width)}  ${r.detail}`).join('\n');
}

const ok = (name: string, detail: string): CheckResult => ({ name, status: 'ok', detail });
const failed = (name: string, detail: string): CheckResult => ({ name, status: 'failed', detail });
const skipped = (name: string, detail: string): CheckResult => ({ name, status: 'skipped', detail });

/** Prometheus text exposition → `name{labels}` → value (enough for the few series poke reads). */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    if (cut < 0) continue;
    out.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return out;
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

interface AdapterView {
  name: string;
  state: string;
  listen: string | null;
  error?: string;
  options: { enabled?: boolean };
}

/** An adapter's line: an enabled adapter must be running; a disabled one is only reported. */
export function adapterCheck(a: AdapterView): CheckResult {
  const name = `adapter ${a.name}`;
  if (a.state === 'running') return ok(name, `running on ${a.listen ?? '?'}`);
  if (a.state === 'failed') return failed(name, `failed: ${a.error ?? 'no reason given'}`);
  if (a.options.enabled === false && a.state === 'stopped')
    return skipped(name, 'disabled in the configuration');
  return failed(name, `${a.state}, but enabled in the configuration${a.error ? ` (${a.error})` : ''}`);
}

interface BufferGauges {
  memory_fill_ratio?: number;
  memory_events?: number;
  disk_bytes?: number;
  disk_segments?: number;
  spilling?: number;
  paused?: number;
}

/** A buffer's line from /api/v1/stats: failed while it holds back the intake or is nearly full. */
export function bufferCheck(name: string, g: BufferGauges): CheckResult {
  const fill = g.memory_fill_ratio ?? 0;
  const detail =
    `memory ${(fill * 100).toFixed(1)} % full (${g.memory_events ?? 0} events), ` +
    `${bytes(g.disk_bytes ?? 0)} on disk in ${g.disk_segments ?? 0} segments` +
    (g.spilling === 1 ? ', spilling to disk' : '');
  if (g.paused === 1) return failed(`buffer ${name}`, `holding back the intake: ${detail}`);
  if (fill >= 0.95) return failed(`buffer ${name}`, `nearly full: ${detail}`);
  return ok(`buffer ${name}`, detail);
}

/**
 * The tier job from /metrics: failed when its runs fail and none succeeded, or when no run happened
 * long after the first one was due (30 s after start, then every storage.tiers.schedule).
 */
export function tierCheck(
  metrics: Map<string, number>,
  nowSeconds: number,
  scheduleSeconds: number,
): CheckResult {
  const runs = (result: string) => metrics.get(`siem_storage_tier_runs_total{result="${result}"}`) ?? 0;
  const good = runs('ok');
  const bad = runs('failed');
  const locked = runs('skipped_locked');
  const started = metrics.get('process_start_time_seconds');
  const up = started === undefined ? null : Math.max(0, Math.round(nowSeconds - started));
  const counts = `${good} ok, ${bad} failed, ${locked} skipped (another process held the lock)`;
  if (good > 0 || locked > 0) return ok('tier job', `${counts} since start`);
  if (bad > 0) return failed('tier job', `every run failed (${counts}); see the log for "tier job failed"`);
  if (up !== null && up > 30 + scheduleSeconds + 60)
    return failed('tier job', `no run in ${up} s since start (schedule every ${scheduleSeconds} s)`);
  return ok('tier job', `no run yet: the first is due 30 s after start (up ${up ?? '?'} s)`);
}

/** Kafka brokers and the topics this configuration uses. */
export async function kafkaChecks(config: RootConfig, timeoutMs: number): Promise<CheckResult[]> {
  const k = config.kafka;
  let meta: Awaited<ReturnType<typeof clusterMetadata>>;
  try {
    meta = await clusterMetadata(baseClientConfig(k, 'poke'), timeoutMs);
  } catch (err) {
    return [failed('kafka brokers', `${k.brokers}: ${err instanceof Error ? err.message : String(err)}`)];
  }
  const out = [
    ok(
      'kafka brokers',
      `${meta.brokers.length} answered: ${meta.brokers.map((b) => `${b.host}:${b.port}`).join(', ')}`,
    ),
  ];
  const wanted = [k.topics.raw.name, k.topics.dlq.name];
  if (config.normalizer.publish_normalized) wanted.push(k.topics.normalized.name);
  for (const s of config.normalizer.route_severities) wanted.push(`${k.topics.severity_prefix}${s}`);
  for (const t of wanted) {
    const partitions = meta.topics.get(t);
    out.push(
      partitions === undefined || partitions === 0
        ? failed(`kafka topic ${t}`, 'missing (siem kafka-topics, or kafka.create_topics at start-up)')
        : ok(`kafka topic ${t}`, `${partitions} partitions`),
    );
  }
  return out;
}

/** Migrations of a database the CLI can reach itself (storage.database_url). */
export async function migrationCheck(config: RootConfig, timeoutMs: number): Promise<CheckResult> {
  const url = config.storage.database_url;
  if (url === null)
    return skipped(
      'migrations',
      'embedded database: only the serving process can open it, and it migrates at start-up',
    );
  const pool = createPool({ url, size: 1, connectTimeoutMs: timeoutMs, applicationName: 'siem-poke' });
  try {
    const schema = config.storage.schema;
    const engine = await recordedEngine(pool, schema);
    if (engine === null) return failed('migrations', `schema ${schema} is not migrated (siem migrate)`);
    const files = readdirSync(defaultMigrationsDir()).filter((f) => f.endsWith(`.${engine}.sql`));
    const versions = new Set(files.map((f) => Number(f.slice(0, f.indexOf('_')))));
    const r = await pool.query<{ version: number }>(
      `select version from "${schema.replaceAll('"', '""')}".schema_migrations`,
    );
    const applied = new Set(r.rows.map((row) => Number(row.version)));
    const pending = [...versions].filter((v) => !applied.has(v)).sort((a, b) => a - b);
    return pending.length === 0
      ? ok('migrations', `schema ${schema} (${engine}): all ${applied.size} applied`)
      : failed(
          'migrations',
          `schema ${schema}: ${pending.length} pending (${pending.join(', ')}): siem migrate`,
        );
  } catch (err) {
    return failed('migrations', `cannot read them: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await pool.end().catch(() => undefined);
  }
}

export interface PokeOptions {
  /** Check the brokers even when the running role reports no Kafka readiness check. */
  kafka: boolean;
  timeoutMs: number;
}

/** Every check of `siem poke`, in order. Only an unreachable API throws (UnreachableError). */
export async function runChecks(
  client: ApiClient,
  config: RootConfig,
  o: PokeOptions,
): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const base = client.target.base;
  let live: Awaited<ReturnType<ApiClient['get']>>;
  try {
    live = await client.get('/health/live');
  } catch (err) {
    if (err instanceof UnreachableError) return [failed('api', err.message)];
    throw err;
  }
  out.push(
    live.status === 200
      ? ok('api', `${base} is live (${Math.round(live.ms)} ms)`)
      : failed('api', `${base}/health/live: ${answerReason(live)}`),
  );

  const ready = await client.get<{
    status?: string;
    checks?: Record<string, { ok: boolean; detail?: string }>;
  }>('/health/ready');
  const checks = ready.body?.checks;
  if (typeof checks !== 'object' || checks === null) {
    out.push(failed('ready', `/health/ready: ${answerReason(ready)}`));
  } else {
    for (const [name, c] of Object.entries(checks)) {
      const detail = c.detail ?? (c.ok ? 'ready' : 'not ready');
      out.push(c.ok ? ok(`ready ${name}`, detail) : failed(`ready ${name}`, detail));
    }
  }
  const role = {
    kafka: checks !== undefined && 'kafka' in checks,
    database: checks !== undefined && 'database' in checks,
  };

  const adapters = await client.get<{ data?: AdapterView[] }>('/api/v1/adapters');
  if (adapters.status !== 200 || !Array.isArray(adapters.body?.data)) {
    out.push(failed('adapters', answerReason(adapters)));
  } else if (adapters.body.data.length === 0) {
    out.push(skipped('adapters', 'this role runs no adapters'));
  } else {
    for (const a of adapters.body.data) out.push(adapterCheck(a));
  }

  const stats = await client.get<{ buffer?: Record<string, BufferGauges> }>('/api/v1/stats');
  if (stats.status !== 200) out.push(failed('buffer', `/api/v1/stats: ${answerReason(stats)}`));
  else {
    const buffers = Object.entries(stats.body.buffer ?? {});
    if (buffers.length === 0) out.push(skipped('buffer', 'no buffer in this role (or not sampled yet)'));
    for (const [name, g] of buffers) out.push(bufferCheck(name, g));
  }

  if (role.kafka || o.kafka) out.push(...(await kafkaChecks(config, o.timeoutMs)));
  else
    out.push(skipped('kafka', 'this role does not use Kafka (--kafka checks the configured brokers anyway)'));

  if (role.database) {
    out.push(await migrationCheck(config, o.timeoutMs));
    const metrics = await client.get<string>('/metrics');
    if (metrics.status !== 200) out.push(failed('tier job', `/metrics: ${answerReason(metrics)}`));
    else if (!config.storage.tiers.enabled) out.push(skipped('tier job', 'storage.tiers.enabled is false'));
    else
      out.push(
        tierCheck(
          parseMetrics(String(metrics.body)),
          Date.now() / 1000,
          intervalMs(config.storage.tiers.schedule) / 1000,
        ),
      );
  } else {
    out.push(skipped('database', 'this role stores no events'));
  }
  return out;
}
