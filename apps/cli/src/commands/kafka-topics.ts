import { parseArgs } from 'node:util';
import { ensureTopics, strimziTopics, topicDefinitions } from '@siem/kafka';
import { loadRootConfig } from '@siem/runtime';
import type { Command } from './command.js';

export const kafkaTopicsCommand: Command = {
  name: 'kafka-topics',
  usage:
    'siem kafka-topics [--config FILE] [--create | --strimzi [--cluster NAME] [--replicas N] [--namespace NS]]',
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c' },
        create: { type: 'boolean', default: false },
        strimzi: { type: 'boolean', default: false },
        cluster: { type: 'string', default: 'siem-kafka' },
        replicas: { type: 'string' },
        namespace: { type: 'string' },
      },
    });
    const config = loadRootConfig({ file: values.config ?? null });
    const topics = topicDefinitions(config.kafka.topics);
    if (values.strimzi) {
      process.stdout.write(
        '# Generated from the topic definitions (libs/kafka/src/topics.ts) by\n' +
          `# siem kafka-topics --strimzi --cluster ${values.cluster}${values.replicas ? ` --replicas ${values.replicas}` : ''}\n` +
          '# Do not edit: change the definitions or the configuration and generate again.\n',
      );
      process.stdout.write(
        strimziTopics(topics, {
          cluster: values.cluster,
          ...(values.replicas ? { replicas: Number(values.replicas) } : {}),
          ...(values.namespace ? { namespace: values.namespace } : {}),
        }),
      );
      return 0;
    }
    if (values.create) {
      const created = await ensureTopics(config.kafka, topics);
      process.stdout.write(created.length > 0 ? `created: ${created.join(', ')}\n` : 'all topics exist\n');
      return 0;
    }
    for (const t of topics) {
      process.stdout.write(
        `${t.name}\tpartitions=${t.partitions}\treplicas=${t.replicationFactor}\t${JSON.stringify(t.config)}\n`,
      );
    }
    return 0;
  },
};
