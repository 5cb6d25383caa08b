import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deleteTopics, type RoleProcess, stackUrls, uniqueSuffix } from '@siem/local-stack';

/** What a normalizer role test owns: its own topics, consumer group and data folder. */
export interface NormalizerScenario {
  id: string;
  topics: { raw: string; dlq: string; normalized: string };
  group: string;
  dataDir: string;
  /** Kills the role process (if one was started), then deletes the topics and the data folder. */
  release(proc: RoleProcess | null): Promise<void>;
}

export function normalizerScenario(name: string): NormalizerScenario {
  const id = uniqueSuffix();
  const topics = { raw: `${name}.raw.${id}`, dlq: `${name}.dlq.${id}`, normalized: `${name}.norm.${id}` };
  const dataDir = mkdtempSync(join(tmpdir(), `siem-${name}-`));
  return {
    id,
    topics,
    group: `${name}-${id}`,
    dataDir,
    async release(proc) {
      await proc?.stop('SIGKILL');
      await deleteTopics(stackUrls.kafkaBrokers, Object.values(topics));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
