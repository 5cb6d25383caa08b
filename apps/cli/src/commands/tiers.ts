import { parseArgs } from 'node:util';
import { createLogger } from '@siem/observability';
import { loadRootConfig } from '@siem/runtime';
import {
  EventWriter,
  importArchive,
  runTiers,
  storageSettings,
  type TierStatus,
  tierStatus,
} from '@siem/storage';
import type { Command } from './command.js';

function size(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

export function formatTierStatus(s: TierStatus): string {
  const head = ['tier', 'chunks', 'size', 'oldest', 'newest', 'ratio', 'tablespace'];
  const rows = s.tiers.map((t) => [
    t.tier,
    String(t.chunks) + (t.tier === 'frozen' ? ' files' : ''),
    size(t.bytes),
    t.oldest ?? '-',
    t.newest ?? '-',
    t.compressionRatio === null ? '-' : `${t.compressionRatio.toFixed(1)}×`,
    t.tier === 'frozen' ? (s.archiveDir ?? 'archive disabled') : t.tablespaces.join(', ') || '-',
  ]);
  for (const r of s.rollups) {
    rows.push([
      `rollup ${r.name.split('.').pop()}`,
      `${r.rows} rows`,
      size(r.bytes),
      r.oldest ?? '-',
      r.newest ?? '-',
      '-',
      '-',
    ]);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [
    `schema ${s.schema} (${s.engine}) at ${s.now}; warm after ${s.boundaries.warm}, cold after ${s.boundaries.cold}, frozen after ${s.boundaries.frozen}`,
    line(head),
    ...rows.map(line),
  ].join('\n');
}

export const tiersCommand: Command = {
  name: 'tiers',
  usage: [
    'siem tiers run [--config FILE] [--database-url URL] [--json]',
    'siem tiers status [--config FILE] [--database-url URL] [--json]',
    'siem tiers restore ARCHIVE_FILE [--config FILE] [--database-url URL]',
  ].join('\n'),
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        'database-url': { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    });
    const [action, file] = positionals;
    if (action !== 'run' && action !== 'status' && action !== 'restore') {
      process.stderr.write(`${this.usage}\n`);
      return 2;
    }
    const config = loadRootConfig({ file: values.config ?? null });
    const url = values['database-url'] ?? config.storage.database_url;
    if (url === null) {
      process.stderr.write(
        'storage.database_url is not set: give the database with --database-url or SIEM_STORAGE__DATABASE_URL.\n',
      );
      return 2;
    }
    const logger = createLogger({ level: config.log.level, name: 'siem-tiers' }, 2);
    const settings = storageSettings(config.storage, config.data_dir);
    try {
      if (action === 'status') {
        const status = await tierStatus(url, settings);
        process.stdout.write(`${values.json ? JSON.stringify(status, null, 2) : formatTierStatus(status)}\n`);
        return 0;
      }
      if (action === 'run') {
        const report = await runTiers(url, { ...settings, logger });
        if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        else if (report.skipped) process.stdout.write('another tier job holds the lock; nothing done\n');
        else {
          process.stdout.write(
            `schema ${report.schema} (${report.engine}) in ${report.durationMs} ms: ${report.compressed} compressed, ` +
              `${report.indexesDropped} stripped of secondary indexes, ${report.indexesBuilt} lookup indexes built, ${report.moved} moved, ${report.exported.length} exported, ` +
              `${report.dropped} dropped, ${report.created} created` +
              (report.errors.length > 0
                ? `; errors: ${report.errors.map((e) => `${e.step}: ${e.message}`).join('; ')}`
                : '') +
              '\n',
          );
        }
        return report.errors.length === 0 ? 0 : 1;
      }
      if (file === undefined) {
        process.stderr.write(
          'siem tiers restore needs an archive file (…/events_<from>_<to>.jsonl.zst), with the manifest.json of its folder beside it\n',
        );
        return 2;
      }
      const writer = new EventWriter({
        url,
        schema: settings.schema,
        chunkInterval: settings.chunkInterval,
        method: config.storage.write.method,
        logger,
      });
      try {
        await writer.connect();
        // Checked against its manifest (size, SHA-256, rows) before anything is written.
        const n = await importArchive(file, writer);
        process.stdout.write(
          `${n} events from ${file} written to ${settings.schema}.events (already present ones skipped)\n`,
        );
      } finally {
        await writer.close();
      }
      return 0;
    } finally {
      logger.flush();
    }
  },
};
