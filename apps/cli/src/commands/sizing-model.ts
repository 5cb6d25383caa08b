/**
 * The sizing model behind `siem sizing`: pods, cores, brokers, partitions, shards and disk for an
 * event rate, computed from the project's own measurements (bench/results/*.json) and a few stated
 * assumptions. Every figure carries where it came from, so a reader can check or re-measure it.
 */

/** A number and where it came from: a benchmark row (file, row, commit, date) or an assumption. */
export interface Figure {
  value: number;
  unit: string;
  from: string;
}

/** The measured inputs, each read from one benchmark row. */
export interface Measured {
  /** Gateway process: events/s into Kafka, and CPU seconds per million events (gateway-comparison). */
  gatewayRate: Figure;
  gatewayCpuPerMillion: Figure;
  /** Broker CPU seconds per million events (gateway-comparison, same run). */
  brokerCpuPerMillion: Figure;
  /** Raw-event record bytes and the message bytes they carried (gateway-comparison). */
  recordBytes: Figure;
  messageBytes: Figure;
  /** zstd compression ratio of encoded raw events (buffer-spill). */
  zstdRatio: Figure;
  /** Normalizer stages on one core: Kafka consume, decode + normalize (normalizer-e2e). */
  consumeRate: Figure;
  normalizeRate: Figure;
  /** Rows/s one PostgreSQL takes through the event writer (storage-writer-postgres). */
  shardWriteRate: Figure;
  /** Bytes per stored event in each tier (storage-tier-sizes, TimescaleDB). */
  hotBytes: Figure;
  warmBytes: Figure;
  coldBytes: Figure;
  archiveBytes: Figure;
}

export interface SizingInput {
  eps: number;
  eventBytes: number;
  /** Tier boundaries as ages in days: hot until `hot`, warm until `warm`, cold until `cold`. */
  retention: { hot: number; warm: number; cold: number };
  replication: number;
  /** Hours Kafka keeps siem.raw (kafka.topics.raw.retention_hours). */
  kafkaRetentionHours: number;
}

/** Planning assumptions: not measured here, stated so they can be changed. */
export const assumptions = {
  headroom: {
    value: 0.7,
    unit: 'share of a core or link planned busy',
    from: 'assumption: plan at 70 % so a lost pod or a burst fits',
  },
  brokerCores: { value: 16, unit: 'cores per broker', from: 'assumption: a common broker node size' },
  brokerLinkGbit: { value: 25, unit: 'Gbit/s per broker', from: 'assumption: a common broker NIC' },
  brokerDiskTB: { value: 24, unit: 'TB per broker', from: 'assumption: 12 × 2 TB local disks per broker' },
  replicaCpu: {
    value: 1,
    unit: 'leader CPU per follower replica',
    from: 'assumption: a follower costs what the leader does (not measured)',
  },
} satisfies Record<string, Figure>;

export interface SizingRow {
  what: string;
  value: number;
  unit: string;
  from: string;
}

const GB = 1e9;

/** Rounds up, ignoring floating-point dust (4.9 / 0.7 is 7.000000000000001). */
function whole(n: number): number {
  return Math.ceil(n - 1e-9);
}

/** Rounds up to a whole multiple of `of`. */
function roundUp(n: number, of: number): number {
  return whole(n / of) * of;
}

export function size(input: SizingInput, m: Measured): SizingRow[] {
  const { eps } = input;
  const h = assumptions.headroom.value;
  const rows: SizingRow[] = [];
  const row = (what: string, value: number, unit: string, from: string) =>
    rows.push({ what, value, unit, from });
  const src = (...f: Figure[]) => f.map((x) => x.from).join('; ');

  // gateway: one process per pod, one core each
  const gatewayCores = (eps * m.gatewayCpuPerMillion.value) / 1e6 / h;
  row('gateway cores', whole(gatewayCores), 'cores', src(m.gatewayCpuPerMillion, assumptions.headroom));
  row(
    'gateway pods (1 process, 1 core)',
    whole(eps / (m.gatewayRate.value * h)),
    'pods',
    src(m.gatewayRate, assumptions.headroom),
  );

  // Kafka: records are the event plus the raw-event envelope, zstd-compressed on the wire and disk
  const envelope = m.recordBytes.value - m.messageBytes.value;
  const record = input.eventBytes + envelope;
  const onWire = record / m.zstdRatio.value;
  row(
    'raw-event record',
    Math.round(record),
    'bytes',
    `--event-bytes + envelope ${envelope} B; ${src(m.recordBytes, m.messageBytes)}`,
  );
  const ingressBytes = eps * onWire;
  const rf = input.replication;
  // produce in, replication in and out, one consumer group out
  const linkBytes = ingressBytes * (1 + 2 * (rf - 1) + 1);
  const linkGbit = (linkBytes * 8) / GB;
  row('Kafka ingress (compressed)', round(ingressBytes / 1e6, 1), 'MB/s', src(m.zstdRatio));
  row(
    'Kafka network, all brokers',
    round(linkGbit, 1),
    'Gbit/s',
    `produce + ${rf - 1} replica(s) in and out + one consumer group; ${src(m.zstdRatio)}`,
  );
  const brokerCores = (eps * m.brokerCpuPerMillion.value * rf * assumptions.replicaCpu.value) / 1e6 / h;
  row(
    'Kafka broker cores',
    whole(brokerCores),
    'cores',
    src(m.brokerCpuPerMillion, assumptions.replicaCpu, assumptions.headroom),
  );
  const brokerDisk = ingressBytes * rf * input.kafkaRetentionHours * 3600;
  const brokers = Math.max(
    rf,
    whole(brokerCores / assumptions.brokerCores.value),
    whole(linkGbit / (assumptions.brokerLinkGbit.value * h)),
    whole(brokerDisk / 1e12 / (assumptions.brokerDiskTB.value * h)),
  );
  const a = assumptions;
  row(
    'Kafka brokers',
    brokers,
    'brokers',
    `max(replication, cores / ${a.brokerCores.value}, network / ${a.brokerLinkGbit.value} Gbit/s, disk / ${a.brokerDiskTB.value} TB, at 70 %)`,
  );
  row(
    'Kafka disk, all brokers',
    round(brokerDisk / 1e12, 2),
    'TB',
    `${input.kafkaRetentionHours} h of siem.raw × ${rf} replicas; ${src(m.zstdRatio)}`,
  );
  row('Kafka disk per broker', round(brokerDisk / brokers / 1e12, 2), 'TB', 'the line above / brokers');

  // normalizer: consume + decode + normalize on one core; the database write is the shards' cost
  const perCore = 1 / (1 / m.consumeRate.value + 1 / m.normalizeRate.value);
  const normalizers = whole(eps / (perCore * h));
  row('normalizer events/s per core', Math.round(perCore), 'events/s', src(m.consumeRate, m.normalizeRate));
  row(
    'normalizer pods (1 process, 1 core)',
    normalizers,
    'pods',
    src(m.consumeRate, m.normalizeRate, assumptions.headroom),
  );
  row(
    'siem.raw partitions',
    roundUp(normalizers, brokers),
    'partitions',
    'one per normalizer process at least, a multiple of the brokers',
  );

  // database: shards of one writer-fed PostgreSQL/TimescaleDB each
  const shards = whole(eps / (m.shardWriteRate.value * h));
  row('database shards', shards, 'shards', src(m.shardWriteRate, assumptions.headroom));
  row('database write rate per shard', Math.round(eps / shards), 'rows/s', 'events/s / shards');

  // disk per tier: days in the tier × events per day × bytes per stored event
  const perDay = eps * 86_400;
  const { hot, warm, cold } = input.retention;
  const tiers: [string, number, Figure][] = [
    ['hot', hot, m.hotBytes],
    ['warm', warm - hot, m.warmBytes],
    ['cold', cold - warm, m.coldBytes],
  ];
  let total = 0;
  for (const [name, days, bytes] of tiers) {
    const b = perDay * days * bytes.value;
    total += b;
    row(`disk ${name} (${days} d)`, round(b / 1e12, 1), 'TB', src(bytes));
  }
  row(
    'database disk per shard',
    round(total / shards / 1e12, 2),
    'TB',
    'hot + warm + cold / shards, one copy',
  );
  row(
    'frozen archive per day',
    round((perDay * m.archiveBytes.value) / 1e12, 2),
    'TB/day',
    src(m.archiveBytes),
  );
  return rows;
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** `hot=7d,warm=30d,cold=90d` → days; null with the reason when malformed. */
export function parseRetention(text: string): SizingInput['retention'] | string {
  const out: Record<string, number> = { hot: 7, warm: 30, cold: 90 };
  for (const part of text.split(',')) {
    const m = /^(hot|warm|cold)=(\d+)d$/.exec(part.trim());
    if (m === null) return `${JSON.stringify(part)} is not like hot=7d`;
    out[m[1]!] = Number(m[2]);
  }
  const r = { hot: out.hot!, warm: out.warm!, cold: out.cold! };
  if (!(r.hot > 0 && r.hot <= r.warm && r.warm <= r.cold)) return 'ages must grow: 0 < hot <= warm <= cold';
  return r;
}
