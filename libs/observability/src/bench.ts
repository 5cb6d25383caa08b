import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';

/** One row of a benchmark table: a case name and its figures (numbers keep their units in the key). */
export type BenchRow = Record<string, string | number | boolean | null>;

export interface BenchReport {
  /** File stem under bench/results/ (`syslog-parse` → bench/results/syslog-parse.json). */
  name: string;
  /** What was measured, and how: the command, the corpus, the comparison. */
  description: string;
  rows: BenchRow[];
  notes?: string[];
}

function repoRoot(): string {
  let dir = process.cwd();
  while (!existsSync(join(dir, 'package-lock.json'))) {
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}

function gitCommit(root: string): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

function markdownTable(rows: BenchRow[]): string {
  if (rows.length === 0) return '(no rows)\n';
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: unknown) =>
    typeof v === 'number'
      ? Number.isInteger(v)
        ? v.toLocaleString('en-US')
        : v.toFixed(3)
      : String(v ?? '');
  return [
    `| ${cols.join(' | ')} |`,
    `|${cols.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${cols.map((c) => cell(r[c])).join(' | ')} |`),
  ].join('\n');
}

/**
 * Writes a benchmark's figures as JSON (bench/results/<name>.json, with the machine and commit they
 * were measured on) and a human summary beside it (<name>.md), and prints the summary. Benchmarks
 * report; they never assert timings.
 */
export function writeBenchReport(report: BenchReport): string {
  const root = repoRoot();
  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const cpu = cpus();
  const machine = {
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memory_gib: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
  const measuredAt = new Date().toISOString();
  const commit = gitCommit(root);
  const file = join(dir, `${report.name}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ ...report, measured_at: measuredAt, commit, machine }, null, 2)}\n`,
  );
  const summary = [
    `# ${report.name}`,
    '',
    report.description,
    '',
    markdownTable(report.rows),
    '',
    ...(report.notes ?? []).map((n) => `- ${n}`),
    '',
    `Measured ${measuredAt} on ${machine.cores} × ${machine.cpu}, Node ${machine.node}, commit ${commit ?? 'unknown'}.`,
    '',
  ].join('\n');
  writeFileSync(join(dir, `${report.name}.md`), summary);
  process.stdout.write(`${summary}\n`);
  return file;
}
