/**
 * `siem consume` against the local stack's Kafka: raw events written by the project's own producer
 * pool and dead letters sent by it come back decoded (envelope + payload; reason from the headers),
 * from the beginning or only the new ones; without --group nothing is committed (a second run reads
 * the same records), with --group the group's offsets are committed.
 */
import type { ChildProcess } from 'node:child_process';
import { KafkaProducerPool } from '@siem/kafka';
import {
  committedOffsets,
  createTopics,
  deleteTopics,
  stackUrls,
  uniqueSuffix,
  waitUntil,
} from '@siem/local-stack';
import { silentLogger } from '@siem/observability';
import { loadRootConfig } from '@siem/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort, sampleRawEvent as rawEvent, siemSync, spawnSiem } from '../test-support.js';

const brokers = stackUrls.kafkaBrokers;
const suffix = uniqueSuffix();
const topics = { raw: `siem-test-consume-raw-${suffix}`, dlq: `siem-test-consume-dlq-${suffix}` };
const env = {
  SIEM_KAFKA__BROKERS: brokers,
  SIEM_KAFKA__TOPICS__RAW__NAME: topics.raw,
  SIEM_KAFKA__TOPICS__DLQ__NAME: topics.dlq,
};
const consume = (args: string[]) => siemSync(['consume', ...args], env);

describe('siem consume against Kafka', () => {
  const config = loadRootConfig({ env });
  const pool = new KafkaProducerPool({ kafka: config.kafka, logger: silentLogger });
  const first = `<38>1 2026-01-01T10:00:00Z web01 sshd 42 - - Failed password for root ${suffix}`;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    await createTopics(brokers, [
      { name: topics.raw, partitions: 2 },
      { name: topics.dlq, partitions: 1 },
    ]);
    await pool.connect();
    await pool.writeBatch([{ key: 'web01', value: rawEvent(first) }]);
    await pool.deadLetter(
      [{ key: 'WIN-1', value: rawEvent('{"Hostname":"WIN-1"}') }],
      'normalize_failed',
      'not a Windows event',
      topics.raw,
    );
  }, 120_000);

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await pool.close();
    await deleteTopics(brokers, [topics.raw, topics.dlq]);
  });

  it('prints a raw event decoded, and reads it again: nothing was committed', () => {
    for (let run = 0; run < 2; run++) {
      const r = consume(['--topic', 'raw', '--from-beginning', '--max', '1']);
      expect(r.status, r.stderr).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({
        topic: topics.raw,
        offset: 0,
        key: 'web01',
        kind: 'raw',
        event: {
          version: 2,
          sourceType: 'syslog',
          tenant: 'default',
          source: { adapter: 'syslog_tcp', transport: 'tcp', peerAddress: '192.0.2.5' },
          payload: first,
        },
      });
    }
  });

  it('prints a dead letter with its reason and the raw event it carries', () => {
    const r = consume(['--topic', 'dlq', '--from-beginning', '--max', '1']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toMatchObject({
      topic: topics.dlq,
      key: 'WIN-1',
      kind: 'dlq',
      reason: 'normalize_failed',
      error: 'not a Windows event',
      source_topic: topics.raw,
      truncated: false,
      event: { payload: '{"Hostname":"WIN-1"}' },
    });
  });

  it('with --group commits what it read', async () => {
    const group = `siem-test-consume-${suffix}`;
    const r = consume(['--topic', 'raw', '--from-beginning', '--max', '1', '--group', group]);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toMatchObject({ kind: 'raw', event: { payload: first } });
    const committed = await committedOffsets(brokers, group, topics.raw, 2);
    expect(committed.filter((o) => o > 0)).toEqual([1]);
  });

  it('without --from-beginning prints only what arrives after it started', async () => {
    const run = spawnSiem(['consume', '--topic', 'raw', '--max', '1'], env);
    children.push(run.child);
    let exit: number | null | undefined;
    void run.exited.then((code) => {
      exit = code;
    });
    await waitUntil(
      'consume to start',
      async () => (run.stderr().includes('consume: reading') ? true : undefined),
      60_000,
    );
    // where "the end" lies is settled when the first fetch starts: keep sending until one is read
    let n = 0;
    await waitUntil(
      'consume to print a new record',
      async () => {
        if (exit !== undefined) return true;
        await pool.writeBatch([{ key: 'web02', value: rawEvent(`new ${suffix} ${n++}`) }]);
        return undefined;
      },
      60_000,
      500,
    );
    expect(exit, run.stderr()).toBe(0);
    expect(JSON.parse(run.stdout().trim())).toMatchObject({
      key: 'web02',
      event: { payload: expect.stringMatching(/^new /) },
    });
  });

  it('says in one line when the topic does not exist or no broker answers', async () => {
    const missing = consume(['--topic', `siem-test-missing-${suffix}`, '--max', '1']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^siem consume: topic siem-test-missing-\S+ does not exist on /);
    const port = await closedPort();
    const down = consume(['--brokers', `127.0.0.1:${port}`, '--max', '1']);
    expect(down.status).toBe(1);
    expect(down.stderr.trim().split('\n')).toEqual([
      `siem consume: cannot reach the Kafka brokers 127.0.0.1:${port} (--brokers, kafka.brokers)`,
    ]);
  });
});
