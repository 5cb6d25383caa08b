import { parseArgs } from 'node:util';
import { type BufferInspection, inspectBufferDir, purgeBufferDir, resolveBufferDir } from '@siem/buffer';
import { loadRootConfig } from '@siem/runtime';
import type { Command } from './command.js';

const USAGE = [
  'siem buffer inspect [--config FILE | --dir DIR] [--json]',
  '  segments of the spill directory, their events (acknowledged or not) and the oldest event age',
  'siem buffer purge [--config FILE | --dir DIR] [--corrupt] --yes',
  '  deletes every segment, the ledger and the journal (with --corrupt, also corrupt/); stop the',
  '  process using the directory first. Without --yes, only says what it would delete.',
].join('\n');

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

function age(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} d`;
}

const n = (x: number) => x.toLocaleString('en-US');

export function formatInspection(r: BufferInspection): string {
  if (!r.exists) return `buffer directory ${r.dir} does not exist (nothing buffered)\n`;
  const lines = [`buffer directory ${r.dir}`];
  lines.push(
    `ledger: ${r.ledger.present ? (r.ledger.cleanShutdown ? 'clean shutdown' : 'not shut down cleanly (or running)') : 'none'}` +
      `, journal ${size(r.ledger.journalBytes)}`,
  );
  const t = r.totals;
  lines.push(
    `segments: ${n(t.segments)}, ${size(t.bytes)} on disk, ${n(t.frames)} frames, ${n(t.events)} events ` +
      `(${n(t.unackedEvents)} not yet delivered)` +
      (r.oldestEventAgeSeconds === null
        ? ''
        : `, oldest undelivered event ${age(r.oldestEventAgeSeconds)} old`),
  );
  for (const s of r.segments) {
    lines.push(
      `  ${s.file}  order ${s.order ?? '?'}  ${size(s.bytes)}  ${n(s.frames)} frames  ${n(s.events)} events` +
        `  ${n(s.ackedEvents)} acked  created ${s.createdAt ?? '?'}${s.problem ? `  PROBLEM: ${s.problem}` : ''}`,
    );
  }
  if (r.corrupt.length > 0) {
    const bytes = r.corrupt.reduce((a, c) => a + c.bytes, 0);
    lines.push(`corrupt/: ${r.corrupt.length} files set aside, ${size(bytes)}`);
    for (const c of r.corrupt) lines.push(`  ${c.file}  ${size(c.bytes)}`);
  }
  return `${lines.join('\n')}\n`;
}

export const bufferCommand: Command = {
  name: 'buffer',
  usage: USAGE,
  async run(argv) {
    const [action, ...rest] = argv;
    if (action !== 'inspect' && action !== 'purge') {
      process.stderr.write(`${USAGE}\n`);
      return 2;
    }
    const { values } = parseArgs({
      args: rest,
      options: {
        config: { type: 'string', short: 'c' },
        dir: { type: 'string' },
        json: { type: 'boolean', default: false },
        corrupt: { type: 'boolean', default: false },
        yes: { type: 'boolean', default: false },
      },
    });
    let dir = values.dir;
    if (dir === undefined) {
      const config = loadRootConfig({ file: values.config ?? null });
      dir = resolveBufferDir(config.buffer, config.data_dir);
    }
    if (action === 'inspect') {
      const report = await inspectBufferDir(dir);
      process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatInspection(report));
      return 0;
    }
    if (!values.yes) {
      const report = await inspectBufferDir(dir);
      process.stdout.write(
        `would delete ${report.totals.segments} segments (${n(report.totals.unackedEvents)} undelivered events), ` +
          `the ledger and the journal${values.corrupt ? `, and ${report.corrupt.length} files in corrupt/` : ''} ` +
          `in ${dir}; add --yes to do it\n`,
      );
      return 1;
    }
    const result = await purgeBufferDir(dir, { includeCorrupt: values.corrupt });
    process.stdout.write(
      `deleted ${result.removedFiles.length} files (${size(result.removedBytes)}) in ${dir}\n`,
    );
    return 0;
  },
};
