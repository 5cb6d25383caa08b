import { readFileSync } from 'node:fs';
import {
  allKinds,
  type EmitOptions,
  type EmitProgress,
  type EmitSummary,
  emitSample,
  type Protocol,
  protocolInfo,
  protocols,
} from '@siem/generator';
import { parseCommandArgs, parseCount, runCommand, UsageError } from './cli-support.js';
import type { Command } from './command.js';

const USAGE = [
  'siem emit-sample [COUNT] [--protocol udp|tcp|tls|lumberjack|ndjson|http] [--to HOST:PORT]',
  '                 [--rate N/s] [--duration 30s] [--seed N] [--start ISO-8601] [--kinds a,b]',
  '                 [--malformed 0.01] [--diurnal] [--tenant T] [--api-key KEY] [--ca FILE | --insecure]',
  '                 [--framing lf|octet-counted] [--window N] [--compression 0-9] [--no-gzip]',
  '                 [--out FILE|-] [--json] [--list-kinds]',
  '',
  'Generates realistic security events and sends them over the real protocols, to this gateway or any',
  'other (it doubles as a load source): OpenSSH accepted/failed/invalid user with brute-force bursts from',
  'a few addresses, sudo, PAM, FortiGate/PAN-OS/CEF firewall allow/deny (syslog protocols); Windows',
  'Security 4624/4625/4634/4672/4688/4720/4740 as Winlogbeat documents (lumberjack, ndjson); CloudTrail',
  'ConsoleLogin/AssumeRole/refused calls, Azure Activity and GCP audit batches (http, the cloud intake).',
  'Users, hosts and addresses are made up; addresses come from the documentation ranges only.',
  '',
  '  COUNT          events to send (default 1000; unlimited with --duration)',
  '  --protocol     default tcp; each protocol carries its own kinds (siem emit-sample --list-kinds)',
  '  --to           receiver (default 127.0.0.1 and the protocol’s default port: udp/tcp 5514, tls 6514,',
  '                 lumberjack/ndjson 5515, http 8080)',
  '  --rate         events per second (default: as fast as the receiver takes them)',
  '  --duration     stop after this long (30s, 5m); with COUNT, whichever comes first',
  '  --seed         same seed, same events: every choice is fixed and times follow a simulated clock from',
  '                 --start (default now, whole second); same seed and --start give byte-identical output.',
  '                 Without --seed events carry the wall-clock time and the summary names the seed used.',
  '  --kinds        only these kinds, comma-separated',
  '  --malformed    share of events sent broken (cut short, bad priority, control characters), 0 … 1',
  '  --diurnal      shape the rate and the timestamps on a day curve (quiet 04:00, busy 16:00 UTC)',
  '  --tenant       names the made-up organisation (host and user domains <tenant>.example); the gateway',
  '                 decides the stored tenant (per listener, or per API key for http)',
  '  --api-key      Bearer token with the ingest scope (http); keyless intakes take loopback clients',
  '  --ca, --insecure   trust this CA (PEM) / no verification, for tls (and lumberjack, ndjson, http when given)',
  '  --framing      tcp/tls framing (default lf); --window, --compression: Lumberjack window (2048) and',
  '                 zlib level (3, 0 = plain JSON frames); --no-gzip: send http bodies uncompressed',
  '  --out FILE     write the payloads instead of sending them, one per line (syslog lines, Windows JSON',
  '                 documents, or for http one request body per line); - for stdout',
  '  --json         print the summary as JSON on stdout',
  '',
  'A progress bar with the rate goes to stderr on a terminal; the summary says what was sent,',
  'acknowledged (Lumberjack ACKs, HTTP 202) and refused, per kind. Exit code 1 when the run broke off',
  'or the receiver refused events that were not sent malformed.',
  '',
  'Examples:',
  '  siem emit-sample 20000 --protocol tcp --to 127.0.0.1:5514',
  '  siem emit-sample --protocol udp --rate 5000/s --duration 1m --diurnal',
  '  siem emit-sample 5000 --protocol lumberjack --to 127.0.0.1:5515 --seed 42',
  '  siem emit-sample 2000 --protocol http --to 127.0.0.1:8080 --api-key "$SIEM_INGEST_KEY"',
  '  siem emit-sample 100000 --protocol tcp --seed 7 --start 2026-01-01T00:00:00Z --out events.log',
].join('\n');

const DEFAULT_COUNT = 1000;

function parseTarget(text: string | undefined, protocol: Protocol): { host: string; port: number } {
  if (text === undefined) return { host: '127.0.0.1', port: protocolInfo[protocol].defaultPort };
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const port = m === null ? Number.NaN : Number(m[3]);
  if (m === null || port < 1 || port > 65535) {
    throw new UsageError(`--to ${text}: expected HOST:PORT (e.g. 127.0.0.1:5514 or [::1]:5514)`);
  }
  return { host: m[1] ?? m[2]!, port };
}

function parseRate(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(?:\/s)?$/.exec(text.trim());
  const n = m === null ? Number.NaN : Number(m[1]);
  if (!(n > 0) || n > 100_000_000)
    throw new UsageError(`--rate ${text}: expected events per second, e.g. 5000/s`);
  return n;
}

function parseRunDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m?.[2] ?? 's']!;
  const ms = m === null ? Number.NaN : Number(m[1]) * unit;
  if (!(ms >= 1) || ms > 7 * 24 * 3_600_000) {
    throw new UsageError(`--duration ${text}: expected a duration such as 30s, 5m or 2h`);
  }
  return ms;
}

function parseShare(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !(n >= 0 && n <= 1))
    throw new UsageError(`--malformed ${text}: expected a share from 0 to 1, e.g. 0.01`);
  return n;
}

function parseLevel(text: string): number {
  if (!/^\d$/.test(text)) throw new UsageError(`--compression ${text}: expected a zlib level 0 … 9`);
  return Number(text);
}

const fmt = (n: number): string => n.toLocaleString('en-US');

/** One status line: a bar when the run has a known end, the count and the rate otherwise. */
export function progressLine(p: EmitProgress, width = 30): string {
  const fraction =
    p.count !== null
      ? p.sent / p.count
      : p.durationMs !== null
        ? Math.min(1, p.elapsedMs / p.durationMs)
        : null;
  const rate = p.elapsedMs > 0 ? Math.round((p.sent / p.elapsedMs) * 1000) : 0;
  const filled = fraction === null ? 0 : Math.round(Math.min(1, fraction) * width);
  const bar =
    fraction === null
      ? ''
      : `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}% `;
  const acked = p.acknowledged === null ? '' : `, ${fmt(p.acknowledged)} acknowledged`;
  return `${bar}${fmt(p.sent)} sent${acked}, ${fmt(rate)} events/s, ${(p.elapsedMs / 1000).toFixed(1)} s`;
}

/** The summary as text: totals, then one line per kind, then errors. */
export function summaryText(s: EmitSummary): string {
  const lines = [
    `${s.protocol} → ${s.target}: ${fmt(s.sent)} events sent in ${(s.elapsedMs / 1000).toFixed(2)} s ` +
      `(${fmt(s.eventsPerSecond)} events/s, ${(s.bytes / 1048576).toFixed(1)} MiB), seed ${s.seed}`,
    s.acknowledged === null
      ? `acknowledged: n/a (${s.protocol} has no acknowledgements), malformed ${fmt(s.malformed)}`
      : `acknowledged ${fmt(s.acknowledged)}, refused ${fmt(s.refused)}, malformed ${fmt(s.malformed)}`,
  ];
  const names = Object.keys(s.kinds);
  const w = Math.max(4, ...names.map((n) => n.length));
  lines.push(
    `  ${'kind'.padEnd(w)}  ${'sent'.padStart(10)}  ${'acked'.padStart(10)}  ${'refused'.padStart(8)}`,
  );
  for (const n of names) {
    const k = s.kinds[n]!;
    if (k.sent === 0 && k.refused === 0) continue;
    lines.push(
      `  ${n.padEnd(w)}  ${fmt(k.sent).padStart(10)}  ${(k.acknowledged === null ? '-' : fmt(k.acknowledged)).padStart(10)}  ${fmt(k.refused).padStart(8)}`,
    );
  }
  for (const [reason, e] of Object.entries(s.errors)) {
    lines.push(`  ${reason} ×${e.count}${e.message === undefined ? '' : `: ${e.message}`}`);
  }
  if (s.error !== null) lines.push(`stopped early: ${s.error}`);
  return lines.join('\n');
}

export const emitSampleCommand: Command = {
  name: 'emit-sample',
  usage: USAGE,
  run: (argv) =>
    runCommand('emit-sample', async () => {
      const { values: v, positionals } = parseCommandArgs(
        argv,
        {
          protocol: { type: 'string', default: 'tcp' },
          to: { type: 'string' },
          rate: { type: 'string' },
          duration: { type: 'string' },
          seed: { type: 'string' },
          start: { type: 'string' },
          kinds: { type: 'string' },
          malformed: { type: 'string' },
          diurnal: { type: 'boolean', default: false },
          tenant: { type: 'string' },
          'api-key': { type: 'string' },
          ca: { type: 'string' },
          insecure: { type: 'boolean', default: false },
          framing: { type: 'string', default: 'lf' },
          window: { type: 'string' },
          compression: { type: 'string' },
          'no-gzip': { type: 'boolean', default: false },
          out: { type: 'string' },
          json: { type: 'boolean', default: false },
          'list-kinds': { type: 'boolean', default: false },
        },
        true,
      );
      if (v['list-kinds']) {
        for (const p of protocols) {
          const info = protocolInfo[p];
          const kinds = allKinds.filter((k) => k.channel === info.channel).map((k) => k.name);
          process.stdout.write(`${p.padEnd(10)} ${info.describe}\n           ${kinds.join(', ')}\n`);
        }
        return 0;
      }
      const protocol = v.protocol as Protocol;
      if (!protocols.includes(protocol)) {
        throw new UsageError(`--protocol ${v.protocol}: one of ${protocols.join(', ')}`);
      }
      if (positionals.length > 1) throw new UsageError(`one COUNT at most, got ${positionals.join(' ')}`);
      const durationMs = v.duration === undefined ? null : parseRunDuration(v.duration);
      const count =
        positionals[0] !== undefined
          ? parseCount(positionals[0], 'COUNT')
          : durationMs === null
            ? DEFAULT_COUNT
            : null;
      let seed: number | null = null;
      if (v.seed !== undefined) {
        if (!/^\d{1,10}$/.test(v.seed) || Number(v.seed) > 0xffffffff) {
          throw new UsageError(`--seed ${v.seed}: expected a whole number from 0 to 4294967295`);
        }
        seed = Number(v.seed);
      }
      let startMs: number | null = null;
      if (v.start !== undefined) {
        if (seed === null) throw new UsageError('--start needs --seed (unseeded runs use the wall clock)');
        startMs = Date.parse(v.start);
        if (Number.isNaN(startMs)) throw new UsageError(`--start ${v.start}: expected an ISO 8601 time`);
      }
      if (v.framing !== 'lf' && v.framing !== 'octet-counted') {
        throw new UsageError(`--framing ${v.framing}: lf or octet-counted`);
      }
      if (v.framing !== 'lf' && protocol !== 'tcp' && protocol !== 'tls') {
        throw new UsageError('--framing applies to tcp and tls only');
      }
      if (v.ca !== undefined && v.insecure) throw new UsageError('--ca and --insecure exclude each other');
      let ca: Buffer | null = null;
      if (v.ca !== undefined) {
        try {
          ca = readFileSync(v.ca);
        } catch (err) {
          throw new UsageError(
            `--ca ${v.ca}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
          );
        }
      }
      const tls = protocol === 'tls' || ca !== null || v.insecure ? { ca, insecure: v.insecure } : null;
      if (protocol === 'udp' && tls !== null) throw new UsageError('udp has no TLS: drop --ca/--insecure');
      const windowSize = v.window === undefined ? undefined : parseCount(v.window, 'window', 1_000_000);
      const compression = v.compression === undefined ? undefined : parseLevel(v.compression);
      const options: EmitOptions = {
        protocol,
        target: parseTarget(v.to, protocol),
        count,
        durationMs,
        rate: v.rate === undefined ? null : parseRate(v.rate),
        diurnal: v.diurnal,
        seed,
        startMs,
        tenant: v.tenant ?? null,
        kinds:
          v.kinds === undefined
            ? null
            : v.kinds
                .split(',')
                .map((k) => k.trim())
                .filter((k) => k !== ''),
        malformed: v.malformed === undefined ? 0 : parseShare(v.malformed),
        framing: v.framing,
        tls,
        apiKey: v['api-key'] ?? null,
        out: v.out ?? null,
        lumberjack: { windowSize, compression },
        http: { gzip: !v['no-gzip'] },
      };
      const known = new Set(allKinds.map((k) => k.name));
      const channel = protocolInfo[protocol].channel;
      for (const k of options.kinds ?? []) {
        const kind = allKinds.find((x) => x.name === k);
        if (!known.has(k)) throw new UsageError(`--kinds: unknown kind ${k} (siem emit-sample --list-kinds)`);
        if (kind?.channel !== channel)
          throw new UsageError(`--kinds: ${k} is not carried by ${protocol} (siem emit-sample --list-kinds)`);
      }
      const tty = process.stderr.isTTY === true && !(options.out === '-');
      const abort = new AbortController();
      const onSignal = () => abort.abort();
      process.once('SIGINT', onSignal);
      let shown = false;
      options.signal = abort.signal;
      if (tty) {
        options.onProgress = (p) => {
          // Only long runs get a bar: a short one would flash.
          if (p.elapsedMs < 1000 && !shown) return;
          shown = true;
          process.stderr.write(`\r\u001b[2K${progressLine(p)}`);
        };
      }
      let summary: EmitSummary;
      try {
        summary = await emitSample(options);
      } catch (err) {
        process.stderr.write(`siem emit-sample: ${(err as Error).message}\n`);
        return 1;
      } finally {
        process.off('SIGINT', onSignal);
      }
      if (shown) process.stderr.write('\n');
      const out = options.out === '-' ? process.stderr : process.stdout;
      out.write(v.json ? `${JSON.stringify(summary)}\n` : `${summaryText(summary)}\n`);
      const refusedUnexpectedly = summary.refused > summary.malformed;
      return summary.error !== null || refusedUnexpectedly ? 1 : 0;
    }),
};
