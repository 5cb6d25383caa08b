import { loadRootConfig } from '@siem/runtime';
import { ApiClient, answerReason, apiTarget } from './api-client.js';
import { parseCommandArgs, parseDuration, runCommand, UnreachableError } from './cli-support.js';
import type { Command } from './command.js';
import { parseMetrics } from './poke-checks.js';
import { histogramTotals, meanSince, renderTopFrame, type TopInput } from './top-frame.js';

type Totals = { sum: number; count: number };
type Ready = Record<string, { ok: boolean; detail?: string }>;

/** Fetches what one frame shows; `previous` holds the histogram totals of the frame before. */
async function frameInput(
  client: ApiClient,
  previous: { kafka: Totals | null; database: Totals | null },
  color: boolean,
): Promise<TopInput> {
  const stats = await client.get<Record<string, unknown>>('/api/v1/stats');
  if (stats.status !== 200) throw new UnreachableError(`/api/v1/stats: ${answerReason(stats)}`);
  if (typeof stats.body !== 'object' || stats.body === null)
    throw new UnreachableError(
      `/api/v1/stats at ${client.target.base} did not answer JSON: is this the siem API?`,
    );
  const ready = await client.get<{ checks?: Ready }>('/health/ready');
  const metrics = await client.get<string>('/metrics');
  const m = metrics.status === 200 ? parseMetrics(String(metrics.body)) : new Map<string, number>();
  const kafka = histogramTotals(m, 'siem_kafka_delivery_latency_seconds');
  const database = histogramTotals(m, 'siem_storage_write_duration_seconds');
  const latency = {
    kafka: meanSince(kafka, previous.kafka),
    database: meanSince(database, previous.database),
  };
  previous.kafka = kafka;
  previous.database = database;
  return {
    api: client.target.base,
    stats: stats.body,
    ready: ready.body?.checks ?? null,
    readyMs: ready.ms,
    latency,
    color,
  };
}

export const topCommand: Command = {
  name: 'top',
  usage: [
    'siem top [--api URL] [--config FILE] [--api-key KEY] [--interval 1s] [--once]',
    '',
    'Refreshed from /api/v1/stats every interval: events per second over 1, 5 and 15 minutes per',
    'adapter and per stage, buffer fill and spill, Kafka and database readiness with their mean',
    'latency, drops and errors by reason. q or Ctrl-C quits and restores the terminal.',
    '',
    '  --api URL      API of the process to watch (default: api.host:api.port of the configuration)',
    '  --api-key KEY  bearer token with the read scope, when the API has keys',
    '  --interval D   refresh period (default 1s, at least 200ms)',
    '  --once         print one frame and exit (for scripts and tests); also when stdout is no terminal',
    '',
    'examples:',
    '  siem top',
    '  siem top --api http://127.0.0.1:18080 --interval 2s',
    '  siem top --once > frame.txt',
  ].join('\n'),
  run(argv) {
    return runCommand('top', async () => {
      const { values } = parseCommandArgs(argv, {
        api: { type: 'string' },
        config: { type: 'string', short: 'c' },
        'api-key': { type: 'string' },
        interval: { type: 'string', default: '1s' },
        once: { type: 'boolean', default: false },
      });
      const intervalMs = parseDuration(values.interval, 'interval', 200, 3_600_000);
      const config = loadRootConfig({ file: values.config ?? null });
      const client = new ApiClient(apiTarget(values.api, values['api-key'], config));
      const tty = process.stdout.isTTY === true;
      const previous = { kafka: null as Totals | null, database: null as Totals | null };
      const first = await frameInput(client, previous, tty);
      if (values.once || !tty) {
        process.stdout.write(`${renderTopFrame(first)}\n`);
        return 0;
      }
      return dashboard(client, first, previous, intervalMs);
    });
  },
};

/** The live dashboard on the alternate screen; resolves when the user quits, the terminal restored. */
function dashboard(
  client: ApiClient,
  first: TopInput,
  previous: { kafka: Totals | null; database: Totals | null },
  intervalMs: number,
): Promise<number> {
  const out = process.stdout;
  const draw = (t: TopInput) => {
    const body = renderTopFrame(t)
      .split('\n')
      .map((l) => `${l}\x1b[K`)
      .join('\n');
    out.write(`\x1b[H${body}\n\x1b[J`);
  };
  return new Promise<number>((resolve) => {
    let last = first;
    let timer: NodeJS.Timeout | null = null;
    let busy = false;
    const stdin = process.stdin;
    const raw = stdin.isTTY === true;
    const restore = () => {
      if (timer !== null) clearInterval(timer);
      process.off('SIGINT', quit);
      process.off('SIGTERM', quit);
      process.off('exit', reset);
      if (raw) {
        stdin.setRawMode(false);
        stdin.pause();
        stdin.off('data', onKey);
      }
      reset();
    };
    const reset = () => out.write('\x1b[?25h\x1b[?1049l');
    const quit = () => {
      restore();
      resolve(0);
    };
    const onKey = (d: Buffer) => {
      const k = d.toString();
      if (k === 'q' || k === 'Q' || k === '\x03' || k === '\x1b') quit();
    };
    out.write('\x1b[?1049h\x1b[?25l');
    process.on('SIGINT', quit);
    process.on('SIGTERM', quit);
    process.on('exit', reset); // whatever ends the process, the terminal comes back
    if (raw) {
      stdin.setRawMode(true);
      stdin.resume();
      stdin.on('data', onKey);
    }
    draw(first);
    timer = setInterval(() => {
      if (busy) return;
      busy = true;
      frameInput(client, previous, true)
        .then(
          (t) => {
            last = t;
            draw(t);
          },
          (err: unknown) => draw({ ...last, error: err instanceof Error ? err.message : String(err) }),
        )
        .finally(() => {
          busy = false;
        });
    }, intervalMs);
  });
}
