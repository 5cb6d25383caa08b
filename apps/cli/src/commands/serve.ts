import { parseArgs } from 'node:util';
import { collectProcessMetrics, createLogger } from '@siem/observability';
import { Lifecycle, loadRootConfig } from '@siem/runtime';
import { type Role, roles, startRole } from '../roles.js';
import type { Command } from './command.js';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the gateway, the normalizer, or both in one process (all)',
  usage: 'siem serve --role gateway|normalizer|all [--config FILE]',
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: { role: { type: 'string', default: 'all' }, config: { type: 'string', short: 'c' } },
    });
    const role = values.role as Role;
    if (!roles.includes(role)) {
      process.stderr.write(`unknown role ${values.role}; one of ${roles.join(', ')}\n`);
      return 2;
    }
    const config = loadRootConfig({ file: values.config ?? null });
    const logger = createLogger({ level: config.log.level, name: `siem-${role}` });
    collectProcessMetrics();
    const lifecycle = new Lifecycle(logger);
    const exit = (code: number) => {
      logger.flush();
      process.exit(code);
    };
    lifecycle.installSignalHandlers(exit);
    try {
      await startRole(role, config, logger, lifecycle);
    } catch (err) {
      logger.fatal({ err }, 'start-up failed');
      await lifecycle.shutdown('start-up failed');
      throw err;
    }
    logger.info({ role, pid: process.pid }, 'started');
    return new Promise<number>(() => undefined); // runs until a signal ends the process
  },
};
