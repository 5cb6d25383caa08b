import { beforeAll, describe, expect, it } from 'vitest';
import { imageConfig } from './buildah.js';
import { runInImage } from './image-run.js';
import { type BuiltImages, buildImages } from './index.js';

describe('the Kafka image, built from deploy/docker/kafka/Dockerfile', () => {
  let built: BuiltImages;

  beforeAll(async () => {
    built = await buildImages({ log: (line) => process.stdout.write(`${line}\n`) });
  });

  it('runs as uid 10001 with a default heap', async () => {
    const config = await imageConfig(built.kafka);
    expect(config.User).toBe('10001');
    expect(config.Env).toContain('KAFKA_HEAP_OPTS=-Xmx512m');
    expect(config.Entrypoint).toEqual(['/opt/kafka/kafka-entrypoint.sh']);
  });

  it('formats its storage once and serves as broker and controller on a read-only root', async () => {
    // Start, wait for the broker, stop; twice on the same volume: the second start must not format again.
    const script = `set -u
for round in 1 2; do
  /opt/kafka/kafka-entrypoint.sh >/var/lib/kafka/out.$round 2>&1 &
  pid=$!
  for i in $(seq 1 150); do
    grep -q 'Kafka Server started' /var/lib/kafka/out.$round && break
    sleep 1
  done
  kill $pid; wait $pid
  echo "round $round: $(grep -c 'Kafka Server started' /var/lib/kafka/out.$round) started, $(grep -c 'Formatting' /var/lib/kafka/out.$round) formatted"
done
grep -h 'advertised.listeners = ' /var/lib/kafka/out.1 | head -n 1
cat /var/lib/kafka/server.properties | grep '^process.roles\\|^num.partitions'`;
    const r = await runInImage(built.kafka, ['-c', script], {
      entrypoint: ['bash'],
      writable: ['/var/lib/kafka'],
      env: {
        KAFKA_ADVERTISED_LISTENERS: 'PLAINTEXT://siem-kafka.siem.svc.cluster.local:9092',
        KAFKA_CFG_NUM_PARTITIONS: '3',
      },
    });
    expect(r.stdout).toContain('round 1: 1 started, 1 formatted');
    expect(r.stdout).toContain('round 2: 1 started, 0 formatted');
    expect(r.stdout).toContain('PLAINTEXT://siem-kafka.siem.svc.cluster.local:9092');
    expect(r.stdout).toContain('process.roles=broker,controller');
    expect(r.stdout).toContain('num.partitions=3');
  });
});
