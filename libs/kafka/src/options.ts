import { Section, type Static, Type } from '@siem/config';

const TopicOptions = (
  name: string,
  partitions: number,
  retentionHours: number,
  description: string,
  retentionBytes = -1,
) =>
  Section(
    {
      name: Type.String({ default: name, description: 'Topic name.' }),
      partitions: Type.Integer({
        minimum: 1,
        default: partitions,
        description: 'Partition count at creation.',
      }),
      replication_factor: Type.Integer({
        minimum: 1,
        default: 1,
        description: 'Replicas per partition (3 on a production cluster).',
      }),
      retention_hours: Type.Integer({
        minimum: 1,
        default: retentionHours,
        description: 'retention.ms, in hours.',
      }),
      retention_bytes: Type.Integer({
        minimum: -1,
        default: retentionBytes,
        description:
          'retention.bytes: each partition keeps at most this much, oldest segments first (-1: no cap).',
      }),
    },
    { description },
  );

export const kafkaOptionsSchema = Section(
  {
    brokers: Type.String({
      minLength: 1,
      default: '127.0.0.1:9092',
      description: 'Bootstrap brokers, comma-separated host:port.',
    }),
    client_id: Type.String({ default: 'siem', description: 'client.id reported to the brokers.' }),
    security_protocol: Type.Union(
      [
        Type.Literal('plaintext'),
        Type.Literal('ssl'),
        Type.Literal('sasl_plaintext'),
        Type.Literal('sasl_ssl'),
      ],
      { default: 'plaintext', description: 'security.protocol.' },
    ),
    sasl: Section(
      {
        mechanism: Type.Union(
          [Type.Literal('PLAIN'), Type.Literal('SCRAM-SHA-256'), Type.Literal('SCRAM-SHA-512')],
          { default: 'SCRAM-SHA-512', description: 'sasl.mechanism.' },
        ),
        username: Type.Optional(Type.String({ description: 'sasl.username.' })),
        password: Type.Optional(
          Type.String({ description: 'sasl.password (prefer SIEM_KAFKA__SASL__PASSWORD).' }),
        ),
      },
      { description: 'SASL credentials, used with sasl_plaintext and sasl_ssl.' },
    ),
    ssl: Section(
      {
        ca_file: Type.Optional(
          Type.String({ description: 'ssl.ca.location: CA bundle that signed the brokers.' }),
        ),
        cert_file: Type.Optional(Type.String({ description: 'ssl.certificate.location for mutual TLS.' })),
        key_file: Type.Optional(Type.String({ description: 'ssl.key.location for mutual TLS.' })),
        key_password: Type.Optional(Type.String({ description: 'ssl.key.password.' })),
        verify_hostname: Type.Boolean({
          default: true,
          description: 'Check the broker certificate host name.',
        }),
      },
      { description: 'TLS settings, used with ssl and sasl_ssl.' },
    ),
    librdkafka: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()]), {
      default: {},
      description: 'Extra librdkafka properties passed through unchanged (they win over the settings above).',
    }),
    producer: Section(
      {
        pool_size: Type.Integer({
          minimum: 1,
          maximum: 16,
          default: 1,
          description:
            'librdkafka producers in the pool; records are spread by key so each host keeps its order. ' +
            'One producer already runs its own I/O threads. On 2 cores a pool of 2 delivered more than 1 on ' +
            'its own, at more CPU per record (bench/results/kafka-producer); in the gateway intake and ' +
            'producer share the cores, so 1 stays the default: measure before raising.',
        }),
        key_by: Type.Union([Type.Literal('host'), Type.Literal('tenant')], {
          default: 'host',
          description: 'Record key: the source host (per-host order on one partition) or the tenant.',
        }),
        linger_ms: Type.Number({
          minimum: 0,
          default: 10,
          description:
            'linger.ms: wait this long to fill batches while a delivery round is being produced; each round ' +
            'ends with a flush, which sends at once (0–50 ms measured alike: bench/results/kafka-producer).',
        }),
        batch_bytes: Type.Integer({
          minimum: 1024,
          default: 1_048_576,
          description:
            'batch.size per partition (64 KiB–1 MiB measured alike: bench/results/kafka-producer).',
        }),
        batch_num_messages: Type.Integer({
          minimum: 1,
          default: 10_000,
          description: 'batch.num.messages per partition.',
        }),
        queue_max_messages: Type.Integer({
          minimum: 1000,
          default: 500_000,
          description: 'queue.buffering.max.messages: local queue; when full, the buffer is held back.',
        }),
        queue_max_kbytes: Type.Integer({
          minimum: 1024,
          default: 1_048_576,
          description: 'queue.buffering.max.kbytes of the local queue.',
        }),
        message_timeout_ms: Type.Integer({
          minimum: 1000,
          default: 300_000,
          description:
            'message.timeout.ms: how long librdkafka keeps retrying one record before the batch is handed ' +
            'back to the buffer.',
        }),
        max_message_bytes: Type.Integer({
          minimum: 1024,
          default: 4 * 1024 * 1024,
          description: 'message.max.bytes: larger records go to the dead-letter topic.',
        }),
        max_in_flight_batches: Type.Integer({
          minimum: 1,
          default: 16,
          description:
            'Buffer leases being delivered at once: those waiting while a round is in flight go together ' +
            'into the next round.',
        }),
        batch_max_records: Type.Integer({
          minimum: 1,
          default: 5000,
          description: 'Records taken from the buffer per lease.',
        }),
        breaker: Section(
          {
            reset_timeout_ms: Type.Integer({
              minimum: 100,
              default: 5000,
              description: 'An open circuit tries one batch again after this long.',
            }),
            probe_interval_ms: Type.Integer({
              minimum: 100,
              default: 2000,
              description:
                'While the brokers are unreachable, ask for metadata this often to notice them return.',
            }),
          },
          { description: 'Circuit breaker (opossum) around delivery to Kafka.' },
        ),
      },
      { description: 'The producer pool of the gateway role (node-rdkafka, idempotent, acks=all, zstd).' },
    ),
    create_topics: Type.Boolean({
      default: true,
      description: 'Create missing topics at start-up from the definitions below.',
    }),
    topics: Section(
      {
        raw: TopicOptions('siem.raw', 12, 72, 'Raw events from the gateways.'),
        normalized: TopicOptions('siem.normalized', 12, 72, 'Normalized events (optional publication).'),
        dlq: TopicOptions(
          'siem.dlq',
          3,
          336,
          'Dead letters: records that cannot be delivered or normalized. Bounded in time and bytes: a poison ' +
            'source cannot fill the brokers with them.',
          1_073_741_824,
        ),
        severity_prefix: Type.String({
          default: 'siem.severity.',
          description: 'Prefix of the per-severity routing topics (siem.severity.critical, …).',
        }),
        severity_partitions: Type.Integer({
          minimum: 1,
          default: 3,
          description: 'Partitions of each severity topic.',
        }),
      },
      { description: 'Topic definitions: the one place topic names, partitions and retention are set.' },
    ),
  },
  { description: 'Kafka connection and topics.' },
);

export type KafkaOptions = Static<typeof kafkaOptionsSchema>;
