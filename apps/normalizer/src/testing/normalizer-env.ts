/** The topics of one normalizer under test. */
export interface NormalizerTopics {
  raw: string;
  dlq: string;
  normalized: string;
}

export interface NormalizerUnderTest {
  dataDir: string;
  brokers: string;
  topics: NormalizerTopics;
  rawPartitions: number;
  /** Partitions of the normalized topic (1 unless given). */
  normalizedPartitions?: number;
  group: string;
  databaseUrl: string;
  apiPort: number;
}

/**
 * The SIEM_* settings of a normalizer role under test: its own data folder, topics, consumer group,
 * database and API port; a pool of 2 connections and no tier job (the shared TimescaleDB engine serves
 * everyone one query at a time). A test adds its own settings after these.
 */
export function normalizerEnv(n: NormalizerUnderTest): Record<string, string> {
  return {
    SIEM_DATA_DIR: n.dataDir,
    SIEM_KAFKA__BROKERS: n.brokers,
    SIEM_KAFKA__TOPICS__RAW__NAME: n.topics.raw,
    SIEM_KAFKA__TOPICS__RAW__PARTITIONS: String(n.rawPartitions),
    SIEM_KAFKA__TOPICS__DLQ__NAME: n.topics.dlq,
    SIEM_KAFKA__TOPICS__DLQ__PARTITIONS: '1',
    SIEM_KAFKA__TOPICS__NORMALIZED__NAME: n.topics.normalized,
    SIEM_KAFKA__TOPICS__NORMALIZED__PARTITIONS: String(n.normalizedPartitions ?? 1),
    SIEM_NORMALIZER__GROUP_ID: n.group,
    SIEM_STORAGE__DATABASE_URL: n.databaseUrl,
    SIEM_STORAGE__POOL_SIZE: '2',
    SIEM_STORAGE__TIERS__ENABLED: 'false',
    SIEM_API__PORT: String(n.apiPort),
  };
}
