import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { probeBrokers } from '@siem/kafka';
import { detachedService } from './detached-service.js';
import { KAFKA_VERSION, stackPaths, stackPorts } from './paths.js';
import { runOrThrow } from './proc.js';
import type { StackService } from './service.js';

const jarsHome = join(stackPaths.cacheDir, `kafka-${KAFKA_VERSION}`);
export const kafkaJarsDir = join(jarsHome, 'libs');
/** Present once the jars are in the cache. */
export const kafkaJarsStamp = join(jarsHome, 'complete');

/**
 * The broker and its tools come from Maven Central as the official jars (pinned version), copied with
 * their runtime dependencies into the per-user cache folder that later runs and other checkouts re-use.
 */
export async function fetchKafkaJars(): Promise<boolean> {
  if (existsSync(kafkaJarsStamp)) return false;
  mkdirSync(jarsHome, { recursive: true });
  const dep = (g: string, a: string, v: string) =>
    `<dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version></dependency>`;
  writeFileSync(
    join(jarsHome, 'pom.xml'),
    `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.siem</groupId><artifactId>kafka-jars</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>
    ${dep('org.apache.kafka', 'kafka_2.13', KAFKA_VERSION)}
    ${dep('org.apache.kafka', 'kafka-tools', KAFKA_VERSION)}
    ${dep('org.apache.logging.log4j', 'log4j-slf4j-impl', '2.24.3')}
  </dependencies>
</project>
`,
  );
  await runOrThrow(
    'mvn',
    ['-q', '-B', 'dependency:copy-dependencies', '-DoutputDirectory=libs', '-DincludeScope=runtime'],
    { cwd: jarsHome },
  );
  writeFileSync(kafkaJarsStamp, `${new Date().toISOString()}\n`);
  return true;
}

/*
 * Between the records of a ProducerPerformance payload file. Not a line feed: a raw-event record is its
 * envelope's line, a line feed, then the payload. ProducerPerformance reads the file as UTF-8 text.
 */
const PAYLOAD_DELIMITER = '\u001e';

/** Writes `records` (well-formed UTF-8, none holding the delimiter) as a ProducerPerformance payload file. */
export function writePayloadFile(file: string, records: readonly Buffer[]): void {
  const bad = records.findIndex((r) => r.includes(PAYLOAD_DELIMITER.charCodeAt(0)));
  if (bad >= 0) throw new Error(`record ${bad} holds the payload file's delimiter (0x1e)`);
  writeFileSync(file, records.map((r) => r.toString('utf8')).join(PAYLOAD_DELIMITER));
}

/** A run of Kafka's ProducerPerformance (kafka-producer-perf-test). */
export interface ProducerPerformanceRun {
  brokers: string;
  topic: string;
  records: number;
  /** The records: those of a file written by writePayloadFile, or random ones of a size. */
  payload: { file: string } | { recordSize: number };
  lingerMs: number;
  batchBytes: number;
}

/**
 * The `java` arguments of Kafka's ProducerPerformance with the producer the benchmarks compare the
 * gateway's against: acks=all, idempotent, zstd, the given linger.ms and batch.size.
 */
export function producerPerformanceArgs(r: ProducerPerformanceRun): string[] {
  return [
    '-Xmx512m',
    '-cp',
    `${kafkaJarsDir}/*`,
    'org.apache.kafka.tools.ProducerPerformance',
    '--topic',
    r.topic,
    '--num-records',
    String(r.records),
    ...('file' in r.payload
      ? ['--payload-file', r.payload.file, '--payload-delimiter', PAYLOAD_DELIMITER]
      : ['--record-size', String(r.payload.recordSize)]),
    '--throughput',
    '-1',
    '--producer-props',
    `bootstrap.servers=${r.brokers}`,
    'acks=all',
    'enable.idempotence=true',
    'compression.type=zstd',
    `linger.ms=${r.lingerMs}`,
    `batch.size=${r.batchBytes}`,
    'max.request.size=4194304',
    'buffer.memory=268435456',
  ];
}

export interface KafkaInstanceOptions {
  /** Service name in status output; also the folder name under the stack folder. */
  name: string;
  port: number;
  controllerPort: number;
}

function java(home: string, args: string[]): string[] {
  return [
    '-cp',
    `${kafkaJarsDir}/*`,
    `-Dlog4j2.configurationFile=${join(home, 'log4j2.properties')}`,
    ...args,
  ];
}

function writeConfig(home: string, dataDir: string, kafka: number, kafkaController: number): string {
  const file = join(home, 'server.properties');
  writeFileSync(
    file,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${kafkaController}`,
      `listeners=PLAINTEXT://127.0.0.1:${kafka},CONTROLLER://127.0.0.1:${kafkaController}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${kafka}`,
      'controller.listener.names=CONTROLLER',
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      'inter.broker.listener.name=PLAINTEXT',
      `log.dirs=${dataDir}`,
      'num.partitions=3',
      'auto.create.topics.enable=false',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=10',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      'message.max.bytes=8388608',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(home, 'log4j2.properties'),
    [
      'status = warn',
      'appender.file.type = File',
      'appender.file.name = file',
      `appender.file.fileName = ${join(home, 'server.log')}`,
      'appender.file.layout.type = PatternLayout',
      'appender.file.layout.pattern = [%d] %p %m (%c)%n',
      'rootLogger.level = info',
      'rootLogger.appenderRef.file.ref = file',
      'logger.state.name = state.change.logger',
      'logger.state.level = warn',
      '',
    ].join('\n'),
  );
  return file;
}

/**
 * A single-node KRaft broker. The stack's own instance is `kafkaService`; tests that stop and start a
 * broker on purpose make an instance of their own with other ports, so they never disturb the others.
 */
export function createKafkaService(options: KafkaInstanceOptions): StackService {
  const home = join(stackPaths.stackDir, options.name);
  const dataDir = join(home, 'data');
  const pidFile = join(home, 'kafka.pid');
  const outFile = join(home, 'kafka.out');
  const brokers = `127.0.0.1:${options.port}`;
  return detachedService({
    name: options.name,
    address: brokers,
    what: 'the broker',
    pidFile,
    outFile,
    answers: (timeoutMs) => probeBrokers(brokers, timeoutMs),
    async prepare() {
      await fetchKafkaJars();
      mkdirSync(dataDir, { recursive: true });
      const config = writeConfig(home, dataDir, options.port, options.controllerPort);
      if (!existsSync(join(dataDir, 'meta.properties'))) {
        const clusterId = randomBytes(16).toString('base64url');
        await runOrThrow(
          'java',
          java(home, ['kafka.tools.StorageTool', 'format', `--cluster-id=${clusterId}`, '-c', config]),
        );
      }
      return {
        command: 'java',
        args: [
          '-Xms256m',
          '-Xmx768m',
          '-XX:+UseG1GC',
          '-XX:MaxGCPauseMillis=20',
          ...java(home, ['kafka.Kafka', config]),
        ],
      };
    },
    startTimeoutMs: 120_000,
    startPollMs: 500,
    stopGraceMs: 60_000,
  });
}

export const kafkaService = createKafkaService({
  name: 'kafka',
  port: stackPorts.kafka,
  controllerPort: stackPorts.kafkaController,
});
