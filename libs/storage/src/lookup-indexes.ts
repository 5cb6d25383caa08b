import { ident, type PoolClient } from './pool.js';
import type { StorageSettings } from './settings.js';

/**
 * The lookup indexes of the TimescaleDB layout (host, user, addresses, event code, high severities:
 * each within a tenant, newest first) and when they are built.
 *
 * - `on_write`: indexes of the hypertable, so every chunk has them and every insert maintains them.
 * - `closed_chunks`: the hypertable has only its primary key (tenant, time, id); the tier job builds the
 *   lookup indexes on each chunk once its time range has ended. Writes into the open chunk skip six
 *   index insertions per row — on the embedded engine (WebAssembly, one thread) that is most of the cost
 *   of a row — and one sorted build per chunk costs far less than the same indexes grown row by row.
 *   Searches of the open chunk use the tenant+time key and filter.
 *
 * Per-chunk indexes carry the name TimescaleDB itself would give them (`<chunk>_<index>`); only one of
 * the two kinds exists at a time, and switching the setting converts them (migrate).
 */

export interface LookupIndex {
  name: string;
  keys: string;
  where: string;
}

/** The same definitions as sql/migrations/0001_events.timescaledb.sql (a test keeps them equal). */
export const LOOKUP_INDEXES: readonly LookupIndex[] = [
  { name: 'events_host_idx', keys: 'tenant_id, host_name, time', where: 'host_name is not null' },
  { name: 'events_user_idx', keys: 'tenant_id, user_name, time', where: 'user_name is not null' },
  { name: 'events_src_ip_idx', keys: 'tenant_id, src_ip, time', where: 'src_ip is not null' },
  { name: 'events_dst_ip_idx', keys: 'tenant_id, dst_ip, time', where: 'dst_ip is not null' },
  { name: 'events_event_code_idx', keys: 'tenant_id, event_code, time', where: 'event_code is not null' },
  { name: 'events_severe_idx', keys: 'tenant_id, time', where: 'severity <= 3' },
];

export type LookupIndexMode = 'on_write' | 'closed_chunks';

/** The setting resolved for a server: auto is closed_chunks on the embedded engine, on_write elsewhere. */
export function lookupIndexMode(
  setting: StorageSettings['lookupIndexes'],
  embedded: boolean,
): LookupIndexMode {
  if (setting !== 'auto') return setting;
  return embedded ? 'closed_chunks' : 'on_write';
}

interface ChunkRow {
  schema: string;
  table: string;
  closed: boolean;
  compressed: boolean;
  /** Not yet past warm_after (when given). */
  hot: boolean;
}

async function chunksOf(client: PoolClient, schema: string, warmAfter = '1000 weeks'): Promise<ChunkRow[]> {
  const r = await client.query<ChunkRow>(
    `select chunk_schema as schema, chunk_name as "table", range_end <= now() as closed,
            is_compressed as compressed, range_end > now() - $2::interval as hot
       from timescaledb_information.chunks
      where hypertable_schema = $1 and hypertable_name = 'events'
      order by range_start`,
    [schema, warmAfter],
  );
  return r.rows;
}

/** Names of the indexes present on the given tables of one schema. */
async function indexNames(client: PoolClient, schema: string, tables: string[]): Promise<Set<string>> {
  if (tables.length === 0) return new Set();
  const r = await client.query<{ indexname: string }>(
    'select indexname from pg_indexes where schemaname = $1 and tablename = any($2::text[])',
    [schema, tables],
  );
  return new Set(r.rows.map((row) => row.indexname));
}

const chunkIndexName = (table: string, index: LookupIndex) => `${table}_${index.name}`;

/**
 * Lookup indexes of each uncompressed chunk, by `schema.table` (quoted as format('%I.%I') does); the
 * columnstore of a compressed chunk stands in for them.
 */
export async function lookupIndexCounts(client: PoolClient, schema: string): Promise<Map<string, number>> {
  const r = await client.query<{ name: string; n: number }>(
    `select format('%I.%I', i.schemaname, i.tablename) as name, count(*)::int as n
       from timescaledb_information.chunks c
       join pg_indexes i on i.schemaname = c.chunk_schema and i.tablename = c.chunk_name
      where c.hypertable_schema = $1 and c.hypertable_name = 'events' and not c.is_compressed
        and i.indexname = any(array(select c.chunk_name || '_' || x from unnest($2::text[]) x))
      group by 1`,
    [schema, LOOKUP_INDEXES.map((i) => i.name)],
  );
  return new Map(r.rows.map((row) => [row.name, row.n]));
}

/**
 * Reconciles the hypertable with the mode (migrate calls it after the migrations). Idempotent: when the
 * layout already matches, it only reads the catalog.
 */
export async function applyLookupIndexMode(
  client: PoolClient,
  schema: string,
  mode: LookupIndexMode,
): Promise<void> {
  const q = ident(schema);
  const onTable = await indexNames(client, schema, ['events']);
  if (mode === 'closed_chunks') {
    // Dropping a hypertable index drops its chunk copies; the tier job builds them again on closed chunks.
    for (const index of LOOKUP_INDEXES) {
      if (onTable.has(index.name)) await client.query(`drop index ${q}.${ident(index.name)}`);
    }
    return;
  }
  const missing = LOOKUP_INDEXES.filter((index) => !onTable.has(index.name));
  if (missing.length === 0) return;
  // Per-chunk indexes of the closed_chunks mode go first: the hypertable index makes its own copies,
  // under the same names.
  for (const chunk of await chunksOf(client, schema)) {
    for (const index of missing) {
      await client.query(
        `drop index if exists ${ident(chunk.schema)}.${ident(chunkIndexName(chunk.table, index))}`,
      );
    }
  }
  for (const index of missing) {
    await client.query(
      `create index ${ident(index.name)} on ${q}.events (${index.keys}) where ${index.where}`,
    );
  }
}

/**
 * Builds the lookup indexes a closed chunk of the hot tier lacks (a chunk past `warmAfter` goes to the
 * columnstore instead), one index per statement so that writes on a single-session engine get their
 * turn between them. Returns the number of indexes built.
 */
export async function indexClosedChunks(
  client: PoolClient,
  schema: string,
  warmAfter: string,
): Promise<number> {
  let built = 0;
  for (const chunk of await chunksOf(client, schema, warmAfter)) {
    if (!chunk.closed || chunk.compressed || !chunk.hot) continue;
    const present = await indexNames(client, chunk.schema, [chunk.table]);
    for (const index of LOOKUP_INDEXES) {
      const name = chunkIndexName(chunk.table, index);
      if (present.has(name)) continue;
      await client.query(
        `create index if not exists ${ident(name)} on ${ident(chunk.schema)}.${ident(chunk.table)} (${index.keys}) where ${index.where}`,
      );
      built++;
    }
  }
  return built;
}
