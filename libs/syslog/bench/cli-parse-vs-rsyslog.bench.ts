/**
 * cli-parse-vs-rsyslog: `siem parse` (syslog lines on stdin → JSON lines) against rsyslog parsing the
 * same file to JSON, side by side on this machine, in alternating rounds.
 *
 * - The file: SIEM_BENCH_LINES (808,000) lines made from the device corpus (src/fixtures/devices.json)
 *   with 500 host names and varied pids and times, written once into the stack's cache folder.
 * - Ours: the command as `npx siem parse` runs it after `npm start`/`npm run build` (the built CLI in
 *   apps/cli/dist, built here first with `tsc -b apps/cli`), stdin the file, stdout a file; from spawn
 *   to exit. Startup alone (`parse < /dev/null`) is measured too.
 * - rsyslog (Debian's rsyslogd, installed here with apt-get when missing): imptcp (its fast TCP input)
 *   → omfile with a JSON template of the same fields (`property(… format="jsonf")`); the file is
 *   streamed over one connection; from spawn to the last line written.
 * - Optionally (SIEM_BENCH_BEFORE=<git revision>) the CLI of that revision, extracted with git archive
 *   into the cache (libraries from the working tree), for a before/after figure in the same run.
 *
 * Reported per contender: best and median events/s over SIEM_BENCH_ROUNDS (5) rounds, from process
 * start and from the first output byte (start-up excluded), CPU seconds (user + system, of the process
 * and its threads) and the ratios to rsyslog. Run: npm run bench --
 * syslog/cli-parse
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  closeSync,
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { nodeArgsFor } from '@siem/core';
import { repoRoot, runOrThrow, stackPaths } from '@siem/local-stack';
import { writeBenchReport } from '@siem/observability';
import { deviceSamples } from '../src/device-corpus.js';

const LINES = Number(process.env.SIEM_BENCH_LINES ?? 808_000);
const ROUNDS = Number(process.env.SIEM_BENCH_ROUNDS ?? 5);
const BEFORE = process.env.SIEM_BENCH_BEFORE ?? '';
const RSYSLOGD = '/usr/sbin/rsyslogd';
const TICKS_PER_S = 100; // USER_HZ on Linux
const home = join(stackPaths.cacheDir, 'bench', 'cli-parse');

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** The input file: the device corpus, varied, one message per line, each ending in ` #<index>`. */
function corpusFile(): string {
  const file = join(home, `corpus-${LINES}.log`);
  if (existsSync(file)) return file;
  mkdirSync(home, { recursive: true });
  const r = rng(7);
  const samples = deviceSamples.map((s) => s.raw);
  const out: string[] = [];
  for (let i = 0; i < LINES; i++) {
    const host = `host-${Math.floor(r() * 500)}`;
    const sec = String(Math.floor(r() * 60)).padStart(2, '0');
    const line = samples[i % samples.length]!.replace(
      /\b(web01|mail1|node-1|srx1|mx1|PA-3260|FG100E|sw1|DC01)\b/,
      host,
    )
      .replace(/11:07:53/, `11:07:${sec}`)
      .replace(/\[(\d+)\]/, () => `[${Math.floor(r() * 65536)}]`);
    out.push(`${line} #${i}\n`);
  }
  writeFileSync(`${file}.part`, out.join(''));
  execFileSync('mv', [`${file}.part`, file]);
  return file;
}

/** Lines in a file (counted in chunks: the outputs are hundreds of MiB). */
function countLines(file: string): number {
  const fd = openSync(file, 'r');
  const buf = Buffer.allocUnsafe(1 << 22);
  let lines = 0;
  try {
    for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) {
      for (let i = buf.indexOf(10); i >= 0 && i < n; i = buf.indexOf(10, i + 1)) lines++;
    }
  } finally {
    closeSync(fd);
  }
  return lines;
}

/** CPU ticks (user + system) of this process's waited-for children, from /proc/self/stat. */
function childTicks(): number {
  const s = readFileSync('/proc/self/stat', 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return Number(f[13]) + Number(f[14]); // cutime, cstime (fields 16 and 17)
}

/** CPU ticks (user + system) of a running process, from /proc/<pid>/stat. */
function processTicks(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // utime, stime (fields 14 and 15)
}

async function ensureRsyslog(): Promise<string> {
  if (!existsSync(RSYSLOGD)) {
    if (process.getuid?.() !== 0) {
      throw new Error(`${RSYSLOGD} is missing and this is not root: apt-get install rsyslog, then run again`);
    }
    process.stdout.write('installing rsyslog (apt-get install -y rsyslog)\n');
    await runOrThrow('apt-get', ['install', '-y', '--no-install-recommends', 'rsyslog'], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  }
  return execFileSync(RSYSLOGD, ['-v'], { encoding: 'utf8' }).split('\n')[0]!.trim();
}

interface Run {
  wallS: number;
  /** From the first output byte to the last line (start-up and the first read excluded). */
  streamS: number;
  cpuS: number;
  lines: number;
  outBytes: number;
}

async function waitExit(child: ChildProcess): Promise<number> {
  if (child.exitCode !== null) return child.exitCode;
  const [code] = (await once(child, 'exit')) as [number | null];
  return code ?? -1;
}

/** When `file` first holds a byte (polled every 2 ms), or the child's end. */
async function firstByte(file: string, child: ChildProcess): Promise<bigint> {
  while (child.exitCode === null && (statSync(file, { throwIfNoEntry: false })?.size ?? 0) === 0)
    await sleep(2);
  return process.hrtime.bigint();
}

/** `siem parse` of the CLI at `main`, stdin the file, stdout a file. */
async function runOurs(main: string, input: string, dir: string): Promise<Run> {
  const out = join(dir, 'ours.jsonl');
  const stdin = openSync(input, 'r');
  const stdout = openSync(out, 'w');
  const ticks = childTicks();
  const t0 = process.hrtime.bigint();
  const child = spawn(process.execPath, [...nodeArgsFor(pathToFileURL(main)), 'parse'], {
    cwd: repoRoot,
    stdio: [stdin, stdout, 'inherit'],
  });
  closeSync(stdin);
  closeSync(stdout);
  const exited = waitExit(child);
  const firstOutput = await firstByte(out, child);
  const code = await exited;
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  if (code !== 0) throw new Error(`siem parse exited with ${code}`);
  const run = {
    wallS,
    streamS: wallS - Number(firstOutput - t0) / 1e9,
    cpuS: (childTicks() - ticks) / TICKS_PER_S,
    lines: countLines(out),
    outBytes: statSync(out).size,
  };
  rmSync(out);
  return run;
}

/** Start-up alone: `siem parse < /dev/null`. */
async function oursStartup(main: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  const child = spawn(process.execPath, [...nodeArgsFor(pathToFileURL(main)), 'parse'], {
    cwd: repoRoot,
    stdio: 'ignore',
  });
  await waitExit(child);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** rsyslog's parse of the same fields to JSON lines: what `siem parse` writes. */
function rsyslogConf(dir: string, out: string): string {
  return `global(workDirectory="${dir}" maxMessageSize="64k" parser.escapeControlCharactersOnReceive="off")
module(load="imptcp")
main_queue(queue.type="LinkedList" queue.size="100000" queue.dequeueBatchSize="1024")
template(name="parse_json" type="list" option.jsonf="on") {
  property(outname="facility" name="syslogfacility" format="jsonf" datatype="number")
  property(outname="severity" name="syslogseverity" format="jsonf" datatype="number")
  property(outname="timestamp" name="timereported" dateFormat="rfc3339" format="jsonf")
  property(outname="hostname" name="hostname" format="jsonf")
  property(outname="appName" name="app-name" format="jsonf")
  property(outname="procId" name="procid" format="jsonf")
  property(outname="msgId" name="msgid" format="jsonf")
  property(outname="structuredData" name="structured-data" format="jsonf")
  property(outname="message" name="msg" format="jsonf")
}
ruleset(name="parse") {
  action(type="omfile" file="${out}" template="parse_json" ioBufferSize="1m" flushOnTXEnd="on")
}
input(type="imptcp" address="127.0.0.1" port="0" listenPortFileName="${dir}/port" ruleset="parse")
`;
}

/** Whether the last message (`#<LINES-1>`) is in the file's tail. */
function lastLineWritten(file: string, marker: Buffer): boolean {
  if (!existsSync(file)) return false;
  const size = statSync(file).size;
  const n = Math.min(size, 64 * 1024);
  if (n === 0) return false;
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(n);
    readSync(fd, buf, 0, n, size - n);
    return buf.includes(marker);
  } finally {
    closeSync(fd);
  }
}

async function runRsyslog(input: string, dir: string): Promise<Run> {
  const work = mkdtempSync(join(dir, 'rsyslog-'));
  const out = join(work, 'out.json');
  const conf = join(work, 'rsyslog.conf');
  writeFileSync(conf, rsyslogConf(work, out));
  const marker = Buffer.from(`#${LINES - 1}"`);
  const t0 = process.hrtime.bigint();
  const child = spawn(RSYSLOGD, ['-n', '-f', conf, '-i', join(work, 'rsyslogd.pid')], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, TZ: 'UTC' },
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  try {
    const portFile = join(work, 'port');
    while (!existsSync(portFile) || readFileSync(portFile, 'utf8').trim() === '') {
      if (child.exitCode !== null) throw new Error(`rsyslogd exited: ${stderr}`);
      await sleep(5);
    }
    const sock = connect(Number(readFileSync(portFile, 'utf8')), '127.0.0.1');
    await once(sock, 'connect');
    const sent = pipeline(createReadStream(input, { highWaterMark: 1 << 20 }), sock);
    const firstOutput = await firstByte(out, child);
    await sent;
    while (!lastLineWritten(out, marker)) {
      if (child.exitCode !== null) throw new Error(`rsyslogd exited: ${stderr}`);
      await sleep(10);
    }
    const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpuS = processTicks(child.pid!) / TICKS_PER_S;
    return {
      wallS,
      streamS: wallS - Number(firstOutput - t0) / 1e9,
      cpuS,
      lines: countLines(out),
      outBytes: statSync(out).size,
    };
  } finally {
    child.kill('SIGTERM');
    await waitExit(child);
    rmSync(work, { recursive: true, force: true });
  }
}

/** The CLI of `rev` (apps/cli/src only; libraries from the working tree), extracted into the cache. */
function cliAt(rev: string): string {
  const sha = execFileSync('git', ['rev-parse', '--short', rev], { cwd: repoRoot, encoding: 'utf8' }).trim();
  // inside the checkout, so that its imports of @siem/* resolve to the working tree's packages
  const dir = join(repoRoot, '.cache', `cli-${sha}`);
  if (!existsSync(join(dir, 'apps/cli/src/main.ts'))) {
    mkdirSync(dir, { recursive: true });
    execFileSync('sh', ['-c', `git archive ${sha} apps/cli/src | tar -x -C '${dir}'`], { cwd: repoRoot });
  }
  return join(dir, 'apps/cli/src/main.ts');
}

interface Contender {
  name: string;
  command: string;
  run(input: string, dir: string): Promise<Run>;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const round3 = (x: number) => Math.round(x * 1000) / 1000;

async function main(): Promise<void> {
  const rsyslogVersion = await ensureRsyslog();
  const input = corpusFile();
  const inputBytes = statSync(input).size;
  const dir = mkdtempSync(join(home, 'run-'));
  // the built CLI, as `npx siem` runs it once built (from the sources tsx adds ~1 s of start-up)
  execFileSync('npx', ['tsc', '-b', 'apps/cli'], { cwd: repoRoot, stdio: 'inherit' });
  const cli = fileURLToPath(new URL('../../../apps/cli/dist/src/main.js', import.meta.url));
  const contenders: Contender[] = [
    {
      name: 'siem parse',
      command: 'npx siem parse < corpus.log > out.jsonl (the built CLI)',
      run: (f, d) => runOurs(cli, f, d),
    },
    {
      name: `rsyslog ${rsyslogVersion.replace(/^rsyslogd\s+/, '').split(' ')[0]}`,
      command:
        'rsyslogd -n -f rsyslog.conf (imptcp → omfile, JSON template); the file sent over one TCP connection',
      run: runRsyslog,
    },
  ];
  if (BEFORE !== '') {
    const before = cliAt(BEFORE);
    contenders.push({
      name: `siem parse at ${BEFORE}`,
      command: `git archive ${BEFORE} apps/cli/src, then run from the sources with tsx`,
      run: (f, d) => runOurs(before, f, d),
    });
  }
  const load0 = loadavg()[0]!;
  const runs = new Map<string, Run[]>(contenders.map((c) => [c.name, []]));
  const startups: number[] = [];
  try {
    for (let r = 0; r < ROUNDS; r++) {
      // alternate the order so that neither always runs right after the other's disk writes
      const order = r % 2 === 0 ? contenders : [...contenders].reverse();
      for (const c of order) {
        const run = await c.run(input, dir);
        if (run.lines !== LINES) throw new Error(`${c.name} wrote ${run.lines} lines of ${LINES}`);
        runs.get(c.name)!.push(run);
        process.stdout.write(
          `round ${r + 1} ${c.name}: ${run.wallS.toFixed(2)} s, ${Math.round(LINES / run.wallS)} events/s, ${run.cpuS.toFixed(2)} CPU s\n`,
        );
      }
      startups.push(await oursStartup(cli));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const load1 = loadavg()[0]!;
  const rows = contenders.map((c) => {
    const rs = runs.get(c.name)!;
    const walls = rs.map((x) => x.wallS);
    return {
      contender: c.name,
      best_events_per_s: Math.round(LINES / Math.min(...walls)),
      median_events_per_s: Math.round(LINES / median(walls)),
      best_wall_s: round3(Math.min(...walls)),
      median_wall_s: round3(median(walls)),
      median_events_per_s_after_first_output: Math.round(LINES / median(rs.map((x) => x.streamS))),
      median_cpu_s: round3(median(rs.map((x) => x.cpuS))),
      cpu_us_per_event: round3((median(rs.map((x) => x.cpuS)) / LINES) * 1e6),
      output_mib: round3(rs[0]!.outBytes / 2 ** 20),
    };
  });
  const peer = rows[1]!;
  const withRatio = rows.map((row) => ({
    ...row,
    median_vs_rsyslog: round3(row.median_events_per_s / peer.median_events_per_s),
    after_first_output_vs_rsyslog: round3(
      row.median_events_per_s_after_first_output / peer.median_events_per_s_after_first_output,
    ),
    best_vs_rsyslog: round3(row.best_events_per_s / peer.best_events_per_s),
  }));
  const ours = withRatio[0]!;
  writeBenchReport({
    name: 'cli-parse-vs-rsyslog',
    description:
      `\`siem parse\` against rsyslog parsing the same ${LINES.toLocaleString('en-US')} syslog lines ` +
      `(${(inputBytes / 2 ** 20).toFixed(1)} MiB, made from the device corpus of src/fixtures/devices.json ` +
      'with 500 host names and varied pids and times) into JSON lines of the same header fields, in ' +
      `${ROUNDS} alternating rounds; events/s from process start to the last line written. ` +
      'Command: npm run bench -- syslog/cli-parse',
    rows: withRatio,
    notes: [
      `goal (siem parse ≥ 1.0× rsyslog, median): ${ours.median_vs_rsyslog >= 1 ? 'met' : 'NOT met'} — ${ours.median_vs_rsyslog}× (best ${ours.best_vs_rsyslog}×)`,
      ...contenders.map((c) => `${c.name}: \`${c.command}\``),
      `siem parse start-up alone (\`parse < /dev/null\`, node + tsx loading the CLI from its sources): median ${median(startups).toFixed(2)} s, included in its figures`,
      'siem parse writes more than rsyslog: facility … parseError and the parsed structured data, CEF and LEEF records as objects; rsyslog writes structured data as its text and no CEF/LEEF',
      'CPU seconds: user + system of the process and all its threads (rsyslog: read from /proc when its last line is written)',
      `1-minute load average ${load0.toFixed(2)} at the start, ${load1.toFixed(2)} at the end: both contenders share the machine with whatever else runs`,
    ],
  });
}

await main();
