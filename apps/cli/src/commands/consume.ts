import { isSiemError, severityNames } from '@siem/core';
import { TopicReader } from '@siem/kafka';
import { loadRootConfig } from '@siem/runtime';
import { parseCommandArgs, parseCount, runCommand, UnreachableError, UsageError } from './cli-support.js';
import type { Command } from './command.js';
import { decodeRecord, topicName } from './consume-decode.js';

export const consumeCommand: Command = {
  name: 'consume',
  usage: [
    'siem consume [--topic raw|normalized|dlq|severity.<level>|NAME] [--from-beginning] [--group G]',
    '             [--max N] [--brokers HOST:PORT,…] [--config FILE]',
    '',
    'Raw events print as their envelope with the payload beside it; dead letters with the reason,',
    'error and source topic from their headers; normalized rows as JSON. Ctrl-C or --max ends it.',
    'Without --group, the partitions are assigned directly and nothing is committed: no consumer',
    'group is left on the brokers. With --group, the group is joined and its offsets committed.',
    '',
    '  --topic T         which topic (default raw); names come from kafka.topics of the configuration',
    '  --from-beginning  start at the oldest record kept (default: only new records)',
    '  --group G         read as consumer group G (resumes where G stopped)',
    '  --max N           exit after N records',
    '  --brokers B       bootstrap brokers (default kafka.brokers of the configuration)',
    '',
    'examples:',
    '  siem consume --topic raw --from-beginning --max 10',
    '  siem consume --topic dlq --brokers 127.0.0.1:29092',
    '  siem consume --topic severity.critical --group soc-console',
  ].join('\n'),
  run(argv) {
    return runCommand('consume', async () => {
      const { values } = parseCommandArgs(argv, {
        topic: { type: 'string', default: 'raw' },
        'from-beginning': { type: 'boolean', default: false },
        group: { type: 'string' },
        max: { type: 'string' },
        brokers: { type: 'string' },
        config: { type: 'string', short: 'c' },
      });
      const max = values.max === undefined ? Number.POSITIVE_INFINITY : parseCount(values.max, 'max');
      if (values.group !== undefined && !/^[A-Za-z0-9._-]{1,249}$/.test(values.group))
        throw new UsageError(`--group ${values.group}: letters, digits, . _ - only`);
      if (values.brokers !== undefined && !/^[^,\s]+:\d+(,[^,\s]+:\d+)*$/.test(values.brokers))
        throw new UsageError(`--brokers ${values.brokers}: expected host:port[,host:port…]`);
      const config = loadRootConfig({ file: values.config ?? null });
      const topic = topicName(values.topic, config.kafka.topics, severityNames);
      if (topic === null)
        throw new UsageError(
          `--topic ${values.topic}: one of raw, normalized, dlq, severity.<${severityNames.join('|')}> or a topic name`,
        );
      const kafka =
        values.brokers === undefined ? config.kafka : { ...config.kafka, brokers: values.brokers };
      const reader = new TopicReader({
        kafka,
        topic,
        fromBeginning: values['from-beginning'],
        groupId: values.group ?? null,
      });
      try {
        await reader.open();
      } catch (err) {
        await reader.close();
        if (isSiemError(err, 'SIEM_ERR_NOT_FOUND'))
          throw new UnreachableError(`${err.message} on ${kafka.brokers}`);
        if (isSiemError(err, 'SIEM_ERR_NOT_CONNECTED'))
          throw new UnreachableError(
            `cannot reach the Kafka brokers ${kafka.brokers} (--brokers, kafka.brokers)`,
          );
        throw err;
      }
      process.stderr.write(
        `consume: reading ${topic} on ${kafka.brokers} from the ${values['from-beginning'] ? 'beginning' : 'end'} (Ctrl-C stops)\n`,
      );
      let stopped = false;
      const stop = () => {
        stopped = true;
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      let printed = 0;
      try {
        while (!stopped && printed < max) {
          const records = await reader.read(Math.min(500, max - printed));
          let out = '';
          for (const r of records) out += `${JSON.stringify(decodeRecord(r))}\n`;
          printed += records.length;
          if (out !== '' && !process.stdout.write(out))
            await new Promise((resolve) => process.stdout.once('drain', resolve));
        }
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        await reader.close();
      }
      return 0;
    });
  },
};
