import { Section, type Static, Type } from '@siem/config';

/** An age or a duration as PostgreSQL spells it: `7 days`, `12 hours`, `2 weeks`. */
export const INTERVAL_PATTERN = '^[1-9][0-9]{0,5} ?(minute|minutes|hour|hours|day|days|week|weeks)$';
/** A chunk/partition width: whole hours, days or weeks, so hourly and daily rollup buckets never straddle two. */
export const CHUNK_INTERVAL_PATTERN = '^(auto|[1-9][0-9]{0,4} ?(hour|hours|day|days|week|weeks))$';

const Interval = (dflt: string, description: string) =>
  Type.String({ pattern: INTERVAL_PATTERN, default: dflt, description });

export const storageOptionsSchema = Section(
  {
    database_url: Type.Union([Type.String({ minLength: 1 }), Type.Null()], {
      default: null,
      description:
        'PostgreSQL/TimescaleDB connection URL. When null, the all role starts the embedded TimescaleDB engine ' +
        'under <data_dir>/timescaledb.',
    }),
    pool_size: Type.Integer({
      minimum: 1,
      maximum: 200,
      default: 8,
      description: 'Database connections of the writer, the tier job and migrations.',
    }),
    query_pool_size: Type.Integer({
      minimum: 1,
      maximum: 100,
      default: 4,
      description:
        "Database connections of the query API, apart from the writer's: readers wait for each other, never " +
        'for the writer, and the writer never waits behind them.',
    }),
    schema: Type.String({
      pattern: '^[a-z_][a-z0-9_]{0,62}$',
      default: 'siem',
      description: 'Database schema holding the events table, its rollups and the migrations record.',
    }),
    engine: Type.Union([Type.Literal('auto'), Type.Literal('timescaledb'), Type.Literal('postgres')], {
      default: 'auto',
      description:
        'Storage layout chosen at the first migration and kept afterwards: timescaledb (hypertable, columnstore, ' +
        'continuous aggregates) or postgres (native range partitions maintained by the normalizer). auto picks ' +
        'timescaledb when the extension is installed (or installable) with its community licence.',
    }),
    auto_migrate: Type.Boolean({
      default: true,
      description: 'Apply pending migrations when a role starts (siem migrate does it on demand).',
    }),
    lookup_indexes: Type.Union(
      [Type.Literal('auto'), Type.Literal('on_write'), Type.Literal('closed_chunks')],
      {
        default: 'auto',
        description:
          'TimescaleDB: when the lookup indexes (host, user, addresses, event code, high severities) are built. ' +
          'on_write: on every chunk, maintained row by row. closed_chunks: by the tier job on each chunk once its ' +
          'time range has ended (writes into the open chunk are several times cheaper; searches of it use ' +
          'tenant+time and filter). auto: closed_chunks on the embedded engine, on_write on a TimescaleDB server.',
      },
    ),
    write: Section(
      {
        method: Type.Union([Type.Literal('auto'), Type.Literal('copy'), Type.Literal('insert')], {
          default: 'auto',
          description:
            'copy: COPY FROM STDIN (real PostgreSQL/TimescaleDB). insert: INSERT … SELECT FROM unnest(arrays), ' +
            'for servers without COPY FROM STDIN (an embedded engine this process did not start). auto: copy, over the ' +
            "embedded engine's bulk channel when this process started it; insert on an embedded engine without one.",
        }),
        batch_rows: Type.Integer({
          minimum: 1,
          maximum: 1_000_000,
          default: 10_000,
          description: 'Rows per COPY/INSERT statement; larger batches are written in several statements.',
        }),
        batch_bytes: Type.Integer({
          minimum: 65_536,
          default: 16_777_216,
          description:
            'Bytes of row values per statement (besides batch_rows): a batch of large events is written in ' +
            'several statements, so one statement never carries tens of megabytes.',
        }),
        timeout_ms: Type.Integer({
          minimum: 100,
          default: 60_000,
          description:
            'A statement that takes longer fails and counts for the circuit breaker; PostgreSQL/TimescaleDB ' +
            'cancel it themselves (statement_timeout), so it does not go on running behind the retry.',
        }),
        breaker_reset_ms: Type.Integer({
          minimum: 100,
          default: 5_000,
          description: 'How long the circuit stays open before one trial write is let through.',
        }),
        breaker_error_percent: Type.Integer({
          minimum: 1,
          maximum: 100,
          default: 50,
          description:
            'Share of failed writes (connection failures, timeouts) in the rolling window that opens the circuit.',
        }),
        breaker_volume: Type.Integer({
          minimum: 1,
          default: 3,
          description: 'Writes in the rolling window before the circuit may open.',
        }),
      },
      { description: 'The event writer (a sink: connect / writeBatch / close / healthcheck).' },
    ),
    chunk: Section(
      {
        interval: Type.String({
          pattern: CHUNK_INTERVAL_PATTERN,
          default: 'auto',
          description:
            'Width of a hypertable chunk or native partition (whole hours, days or weeks). auto sizes it from ' +
            'expected_events_per_second so one chunk with its indexes stays near target_mb.',
        }),
        expected_events_per_second: Type.Integer({
          minimum: 1,
          default: 20,
          description:
            'Sustained ingest rate the chunk width is sized for (chunk.interval auto). The default suits a small ' +
            'site or a demo (one-day chunks); set the real rate in production.',
        }),
        target_mb: Type.Integer({
          minimum: 16,
          default: 2048,
          description:
            'Target size of one uncompressed chunk with its indexes (about a quarter of the database memory).',
        }),
      },
      { description: 'Time partitioning of the events table.' },
    ),
    tiers: Section(
      {
        enabled: Type.Boolean({
          default: true,
          description: 'Run the tier job on a schedule in the normalizer (and the all role).',
        }),
        schedule: Interval('1 hour', 'Interval between two runs of the tier job.'),
        warm_after: Interval(
          '7 days',
          'Age after which a chunk leaves the hot tier: compressed (TimescaleDB) or stripped of the indexes beyond ' +
            'tenant+time (PostgreSQL).',
        ),
        cold_after: Interval(
          '30 days',
          'Age after which a chunk moves to cold_tablespace (when one is configured).',
        ),
        frozen_after: Interval(
          '90 days',
          'Age after which raw chunks are exported to the archive and dropped; the hourly and daily rollups stay.',
        ),
        cold_tablespace: Type.Union([Type.String({ minLength: 1, maxLength: 63 }), Type.Null()], {
          default: null,
          description:
            'Existing tablespace on cheaper storage for the cold tier; null keeps cold chunks where they are.',
        }),
        run_jobs: Type.Union([Type.Literal('auto'), Type.Literal('always'), Type.Literal('never')], {
          default: 'auto',
          description:
            'Whether the tier job runs the TimescaleDB policies itself (CALL run_job). auto: when no TimescaleDB ' +
            'background scheduler is running (the embedded engine has none).',
        }),
        premake: Type.Integer({
          minimum: 1,
          maximum: 1000,
          default: 4,
          description: 'PostgreSQL: partitions created ahead of the current time.',
        }),
        rollup_lookback: Interval(
          '1 day',
          'PostgreSQL: each run recomputes the hourly/daily rollups this far back, to count late events.',
        ),
      },
      { description: 'Hot/warm/cold/frozen tiers; every boundary is an age.' },
    ),
    archive: Section(
      {
        enabled: Type.Boolean({
          default: true,
          description:
            'Export raw chunks to archive files before the frozen tier drops them (false: drop only).',
        }),
        dir: Type.Union([Type.String({ minLength: 1 }), Type.Null()], {
          default: null,
          description: 'Archive folder; null means <data_dir>/archive.',
        }),
        zstd_level: Type.Integer({
          minimum: 1,
          maximum: 19,
          default: 9,
          description: 'zstd level of the archive files (JSON lines, one file per chunk, with a manifest).',
        }),
      },
      { description: 'Archive of raw events leaving the database (frozen tier).' },
    ),
  },
  { description: 'Where normalized events are stored.' },
);

export type StorageOptions = Static<typeof storageOptionsSchema>;
