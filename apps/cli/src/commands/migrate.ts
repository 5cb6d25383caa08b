import { parseArgs } from 'node:util';
import { createLogger } from '@siem/observability';
import { loadRootConfig } from '@siem/runtime';
import { migrate, storageSettings } from '@siem/storage';
import type { Command } from './command.js';

export const migrateCommand: Command = {
  name: 'migrate',
  usage: 'siem migrate [--config FILE] [--database-url URL] [--json]',
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c' },
        'database-url': { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    });
    const config = loadRootConfig({ file: values.config ?? null });
    const url = values['database-url'] ?? config.storage.database_url;
    if (url === null) {
      process.stderr.write(
        'storage.database_url is not set: the all role migrates its embedded engine itself at start-up;\n' +
          'give the database with --database-url or SIEM_STORAGE__DATABASE_URL.\n',
      );
      return 2;
    }
    const logger = createLogger({ level: config.log.level, name: 'siem-migrate' }, 2);
    const report = await migrate(url, { ...storageSettings(config.storage, config.data_dir), logger });
    if (values.json) {
      process.stdout.write(
        `${JSON.stringify({ ...report, server: report.server.serverVersion }, null, 2)}\n`,
      );
    } else {
      const applied = report.applied.map((m) => `${String(m.version).padStart(4, '0')}_${m.name}`);
      process.stdout.write(
        `schema ${report.schema} (${report.engine}): ${applied.length === 0 ? 'up to date' : `applied ${applied.join(', ')}`}` +
          ` (${report.current} already applied)\n`,
      );
    }
    logger.flush();
    return 0;
  },
};
