/**
 * The checks `siem poke` makes directly rather than through the API, against the local stack: Kafka
 * brokers and the configured topics, and the migrations of a PostgreSQL schema.
 */
import { createTopics, deleteTopics, stackUrls, uniqueSuffix } from '@siem/local-stack';
import { loadRootConfig } from '@siem/runtime';
import { createPool, migrate } from '@siem/storage';
import { afterAll, describe, expect, it } from 'vitest';
import { closedPort } from '../test-support.js';
import { kafkaChecks, migrationCheck } from './poke-checks.js';

const suffix = uniqueSuffix();

describe('siem poke: Kafka and database checks', () => {
  const raw = `siem-test-poke-raw-${suffix}`;
  const dlq = `siem-test-poke-dlq-${suffix}`;
  const schema = `poke_${suffix.replace(/[^a-z0-9]/g, '')}`;

  afterAll(async () => {
    await deleteTopics(stackUrls.kafkaBrokers, [raw, dlq]);
    const pool = createPool({ url: stackUrls.postgres, size: 1 });
    await pool.query(`drop schema if exists ${schema} cascade`);
    await pool.end();
  });

  it('names the missing topic, then passes once it exists; fails when no broker answers', async () => {
    const config = loadRootConfig({
      env: {
        SIEM_KAFKA__BROKERS: stackUrls.kafkaBrokers,
        SIEM_KAFKA__TOPICS__RAW__NAME: raw,
        SIEM_KAFKA__TOPICS__DLQ__NAME: dlq,
      },
    });
    await createTopics(stackUrls.kafkaBrokers, [{ name: raw, partitions: 3 }]);
    const before = await kafkaChecks(config, 5000);
    expect(before.map((c) => `${c.status} ${c.name}`)).toEqual([
      'ok kafka brokers',
      `ok kafka topic ${raw}`,
      `failed kafka topic ${dlq}`,
    ]);
    expect(before[1]!.detail).toBe('3 partitions');
    await createTopics(stackUrls.kafkaBrokers, [{ name: dlq, partitions: 1 }]);
    expect((await kafkaChecks(config, 5000)).every((c) => c.status === 'ok')).toBe(true);

    const port = await closedPort();
    const down = await kafkaChecks(
      loadRootConfig({ env: { SIEM_KAFKA__BROKERS: `127.0.0.1:${port}` } }),
      1000,
    );
    expect(down).toEqual([
      { name: 'kafka brokers', status: 'failed', detail: expect.stringContaining(`127.0.0.1:${port}: `) },
    ]);
  });

  it('fails on a schema not migrated, passes once siem migrate ran; skips the embedded database', async () => {
    const config = loadRootConfig({
      env: { SIEM_STORAGE__DATABASE_URL: stackUrls.postgres, SIEM_STORAGE__SCHEMA: schema },
    });
    expect(await migrationCheck(config, 5000)).toMatchObject({
      status: 'failed',
      detail: `schema ${schema} is not migrated (siem migrate)`,
    });
    await migrate(stackUrls.postgres, { schema, engine: 'postgres' });
    expect(await migrationCheck(config, 5000)).toMatchObject({
      status: 'ok',
      detail: expect.stringMatching(new RegExp(`^schema ${schema} \\(postgres\\): all \\d+ applied$`)),
    });
    expect((await migrationCheck(loadRootConfig({ env: {} }), 5000)).status).toBe('skipped');
  });
});
