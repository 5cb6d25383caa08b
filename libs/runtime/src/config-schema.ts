import { apiOptionsSchema } from '@siem/api';
import { bufferOptionsSchema } from '@siem/buffer';
import { type LoadOptions, loadConfig, Section, type Static, Type } from '@siem/config';
import { kafkaOptionsSchema } from '@siem/kafka';
import { timeBoundsSchema } from '@siem/normalize';
import { logFormats } from '@siem/observability';
import { storageOptionsSchema } from '@siem/storage';
import { adaptersSectionSchema, resolveAdapterEntries } from './adapter-catalog.js';

/**
 * The whole configuration: one YAML file plus SIEM_* environment overrides (`SIEM_KAFKA__BROKERS`,
 * `SIEM_ADAPTERS__SYSLOG_UDP__PORT`, …). Each section's schema lives with its component.
 */
export const rootConfigSchema = Section({
  tenant: Type.String({ minLength: 1, default: 'default', description: 'Tenant of events that name none.' }),
  data_dir: Type.String({
    minLength: 1,
    default: './data',
    description: 'Folder for the buffer spill, the embedded database and archives (SIEM_DATA_DIR).',
  }),
  log: Section(
    {
      level: Type.Union(
        ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
        { default: 'info', description: 'pino log level.' },
      ),
      format: Type.Union(
        logFormats.map((f) => Type.Literal(f)),
        {
          default: 'auto',
          description:
            'auto: human-readable lines on a terminal, JSON lines otherwise; json or pretty force one (siem serve --log-format).',
        },
      ),
    },
    { description: 'Logging (pino JSON on stdout; readable lines on a terminal).' },
  ),
  shutdown: Section(
    {
      drain_ms: Type.Integer({
        minimum: 0,
        default: 20_000,
        description:
          'On SIGTERM, how long the buffer keeps delivering before what is left is written to disk ' +
          '(keep it below the pod terminationGracePeriodSeconds).',
      }),
    },
    { description: 'Graceful shutdown.' },
  ),
  api: apiOptionsSchema,
  kafka: kafkaOptionsSchema,
  buffer: bufferOptionsSchema,
  storage: storageOptionsSchema,
  normalizer: Section(
    {
      group_id: Type.String({
        minLength: 1,
        default: 'siem-normalizer',
        description: 'Kafka consumer group.',
      }),
      batch_max_records: Type.Integer({
        minimum: 1,
        default: 5000,
        description: 'Raw records normalized and stored per batch (per Kafka poll, or per buffer lease).',
      }),
      max_in_flight_batches: Type.Integer({
        minimum: 1,
        maximum: 16,
        default: 2,
        description:
          'Batches normalized and written at once: the next batch is fetched and normalized while the previous ' +
          'one is written (offsets are still committed in order, each only after its batch is stored).',
      }),
      publish_normalized: Type.Boolean({
        default: false,
        description: 'Also publish every stored row as JSON to the normalized topic.',
      }),
      route_severities: Type.Array(
        Type.Union(
          ['emergency', 'alert', 'critical', 'error', 'warning', 'notice', 'info', 'debug'].map((s) =>
            Type.Literal(s),
          ),
        ),
        {
          default: [],
          description:
            'Severities whose rows are also published to siem.severity.<name> (e.g. [emergency, alert, critical]).',
        },
      ),
      time: timeBoundsSchema,
      dead_letters: Section(
        {
          max_bytes: Type.Integer({
            minimum: 65_536,
            default: 1_073_741_824,
            description:
              'All role: <data_dir>/dead-letters stays under this many bytes; the oldest files are deleted first ' +
              '(counted in siem_dead_letters_pruned_records_total{reason="cap"}). The other roles dead-letter to ' +
              'the Kafka topic, bounded by its retention.',
          }),
          retention_days: Type.Integer({
            minimum: 1,
            default: 14,
            description:
              'All role: dead-letter files older than this are deleted (counted, reason="retention").',
          }),
        },
        { description: 'Dead letters written to files by the all role (no Kafka).' },
      ),
    },
    { description: 'The normalizer: raw events → normalized rows → storage (normalizer and all roles).' },
  ),
  adapters: adaptersSectionSchema,
});

export type RootConfig = Static<typeof rootConfigSchema>;

export function loadRootConfig(options: LoadOptions = {}): RootConfig {
  return loadConfig<RootConfig>(rootConfigSchema, options, (doc) =>
    resolveAdapterEntries(doc.adapters as Record<string, unknown>),
  );
}
