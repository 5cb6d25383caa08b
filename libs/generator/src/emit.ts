import { randomInt } from 'node:crypto';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { diurnalFactor, EventClock } from './clock.js';
import { EventGenerator, type GeneratedEvent } from './generator.js';
import { selectKinds } from './kinds/catalog.js';
import { type Protocol, protocolInfo } from './protocols.js';
import { RateGate } from './rate.js';
import { FileSender } from './senders/file-sender.js';
import { HttpSender } from './senders/http-sender.js';
import { LumberjackSender } from './senders/lumberjack-sender.js';
import { type ClientTls, type Framing, hostPort, type Sender, type Target } from './senders/sender.js';
import { StreamSender } from './senders/stream-sender.js';
import { UdpSender } from './senders/udp-sender.js';
import { Tally } from './tally.js';

export interface EmitOptions {
  protocol: Protocol;
  target: Target;
  /** Stop after this many events (null: only the duration or the signal stops the run). */
  count: number | null;
  durationMs: number | null;
  /** Events per second; null: as fast as the receiver takes them. */
  rate: number | null;
  diurnal: boolean;
  /** Fixes every random choice and switches to the simulated clock (see clock.ts); null: a random seed, wall-clock times. */
  seed: number | null;
  /** Start of the simulated clock (seeded runs); default: now, whole second. */
  startMs: number | null;
  tenant: string | null;
  kinds: readonly string[] | null;
  malformed: number;
  framing: Framing;
  tls: ClientTls | null;
  apiKey: string | null;
  /** Write the payloads here (`-`: stdout) instead of sending them. */
  out: string | null;
  lumberjack?: { windowSize?: number; compression?: number; ackTimeoutMs?: number };
  http?: { gzip?: boolean; concurrency?: number; maxRecords?: number };
  signal?: AbortSignal;
  onProgress?: (p: EmitProgress) => void;
  progressIntervalMs?: number;
}

export interface EmitProgress {
  elapsedMs: number;
  sent: number;
  acknowledged: number | null;
  /** The run's goal in events when there is one. */
  count: number | null;
  durationMs: number | null;
}

export interface KindSummary {
  sent: number;
  acknowledged: number | null;
  refused: number;
}

export interface EmitSummary {
  protocol: Protocol;
  /** Where the events went: host:port, or the file. */
  target: string;
  seed: number;
  startedAt: string;
  elapsedMs: number;
  generated: number;
  sent: number;
  acknowledged: number | null;
  refused: number;
  malformed: number;
  bytes: number;
  eventsPerSecond: number;
  kinds: Record<string, KindSummary>;
  errors: Record<string, { count: number; message?: string }>;
  /** Why the run stopped early, or null. */
  error: string | null;
}

async function openSender(o: EmitOptions, tally: Tally): Promise<Sender> {
  const http = {
    apiKey: o.apiKey,
    gzip: o.http?.gzip ?? true,
    concurrency: o.http?.concurrency ?? 4,
    maxRecords: o.http?.maxRecords ?? 500,
    maxBytes: 4 * 1024 * 1024,
    retries: 5,
    maxRetryAfterSeconds: 10,
  };
  if (o.out !== null) {
    const cloud = protocolInfo[o.protocol].channel === 'cloud';
    return new FileSender(
      o.out,
      { shape: cloud ? 'cloud-batches' : 'lines', maxRecords: http.maxRecords, maxBytes: http.maxBytes },
      tally,
    );
  }
  switch (o.protocol) {
    case 'udp':
      return UdpSender.open(o.target, tally);
    case 'tcp':
      return StreamSender.open(o.target, null, o.framing, tally);
    case 'tls':
      return StreamSender.open(o.target, o.tls ?? { ca: null, insecure: false }, o.framing, tally);
    case 'ndjson':
      return StreamSender.open(o.target, o.tls, 'lf', tally);
    case 'lumberjack':
      return LumberjackSender.open(
        o.target,
        o.tls,
        {
          windowSize: o.lumberjack?.windowSize ?? 2048,
          compression: o.lumberjack?.compression ?? 3,
          ackTimeoutMs: o.lumberjack?.ackTimeoutMs ?? 30_000,
        },
        tally,
      );
    case 'http':
      return new HttpSender(o.target, o.tls, http, tally);
  }
}

/** A generator for the options (also what `--out` and the tests use without a run). */
export function generatorFor(
  o: Pick<
    EmitOptions,
    'protocol' | 'kinds' | 'seed' | 'startMs' | 'rate' | 'diurnal' | 'malformed' | 'tenant'
  >,
  seed: number,
): EventGenerator {
  const kinds = selectKinds(protocolInfo[o.protocol].channel, o.kinds);
  if (typeof kinds === 'string') throw new Error(kinds);
  const clock = new EventClock({
    startMs: o.seed === null ? null : (o.startMs ?? Math.floor(Date.now() / 1000) * 1000),
    eventsPerSecond: o.rate ?? 1000,
    diurnal: o.diurnal,
  });
  return new EventGenerator({ seed, kinds, malformed: o.malformed, tenant: o.tenant, clock });
}

/**
 * One run: generates events, paces them, hands them to the protocol's sender in batches, and
 * reports what became of them. Throws only for a run that cannot start (bad kinds, no connection);
 * a failure half-way ends the run and is reported in `error`, with the counts so far.
 */
export async function emitSample(o: EmitOptions): Promise<EmitSummary> {
  const seed = o.seed ?? randomInt(0, 2 ** 31);
  const gen = generatorFor(o, seed);
  const tally = new Tally(gen.kinds);
  const startedAt = new Date();
  const sender = await openSender(o, tally);
  const t0 = performance.now();
  let lastEventMs = Date.now();
  const gate =
    o.rate === null ? null : new RateGate(o.rate, o.diurnal ? () => diurnalFactor(lastEventMs) : undefined);
  const windowSize = o.lumberjack?.windowSize ?? 2048;
  const batchMax =
    o.protocol === 'lumberjack' && o.out === null
      ? windowSize
      : o.rate === null
        ? 1024
        : Math.max(1, Math.min(1024, Math.ceil(o.rate / 100)));
  const deadline = o.durationMs === null ? Number.POSITIVE_INFINITY : t0 + o.durationMs;
  let generated = 0;
  let error: string | null = null;
  const progress = (): EmitProgress => ({
    elapsedMs: performance.now() - t0,
    sent: tally.total(tally.sent),
    acknowledged: sender.acknowledges ? tally.total(tally.acknowledged) : null,
    count: o.count,
    durationMs: o.durationMs,
  });
  const timer =
    o.onProgress === undefined
      ? null
      : setInterval(() => o.onProgress!(progress()), o.progressIntervalMs ?? 250);
  const batch: GeneratedEvent[] = [];
  try {
    while (
      (o.count === null || generated < o.count) &&
      performance.now() < deadline &&
      o.signal?.aborted !== true
    ) {
      let n = o.count === null ? batchMax : Math.min(batchMax, o.count - generated);
      if (gate !== null) n = await gate.take(n);
      batch.length = 0;
      for (let i = 0; i < n; i++) {
        const e = gen.next();
        if (e.malformed) tally.malformed++;
        batch.push(e);
      }
      generated += n;
      await sender.send(batch);
      if (o.diurnal) lastEventMs = Date.now();
      // Let timers, socket events and signals run between batches.
      await yieldToLoop();
    }
  } catch (err) {
    error = (err as Error).message;
  }
  try {
    await sender.close();
  } catch (err) {
    error ??= (err as Error).message;
  }
  if (timer !== null) clearInterval(timer);
  o.onProgress?.(progress());
  const elapsedMs = performance.now() - t0;
  const acks = sender.acknowledges;
  const kinds: Record<string, KindSummary> = {};
  gen.kinds.forEach((k, i) => {
    kinds[k.name] = {
      sent: tally.sent[i]!,
      acknowledged: acks ? tally.acknowledged[i]! : null,
      refused: tally.refused[i]!,
    };
  });
  const errors: EmitSummary['errors'] = {};
  for (const [reason, count] of tally.errors) {
    const message = tally.errorMessages.get(reason);
    errors[reason] = message === undefined ? { count } : { count, message };
  }
  const sent = tally.total(tally.sent);
  return {
    protocol: o.protocol,
    target: o.out ?? hostPort(o.target),
    seed,
    startedAt: startedAt.toISOString(),
    elapsedMs: Math.round(elapsedMs),
    generated,
    sent,
    acknowledged: acks ? tally.total(tally.acknowledged) : null,
    refused: tally.total(tally.refused),
    malformed: tally.malformed,
    bytes: tally.bytes,
    eventsPerSecond: elapsedMs > 0 ? Math.round((sent / elapsedMs) * 1000) : 0,
    kinds,
    errors,
    error,
  };
}
