import {
  collectProcessMetrics,
  createLogger,
  type LogFormat,
  logFormats,
  resolveLogFormat,
} from '@siem/observability';
import { Lifecycle, loadRootConfig } from '@siem/runtime';
import { buildBanner, showBanner } from '../banner.js';
import { type Role, roles, startRole } from '../roles.js';
import { parseCommandArgs, runCommand, UsageError } from './cli-support.js';
import type { Command } from './command.js';

export const serveCommand: Command = {
  name: 'serve',
  usage: [
    'siem serve --role gateway|normalizer|all [--config FILE] [--log-format auto|json|pretty]',
    '',
    '  --role        what runs (default all: adapters → buffer → normalizers → storage, no Kafka)',
    '  --config, -c  YAML configuration (default: $SIEM_CONFIG, else built-in defaults + SIEM_* variables)',
    '  --log-format  auto (default, log.format): readable lines on a terminal, JSON lines otherwise',
    '',
    'Once started, a banner shows the listeners, the API, where the data lives and commands to send a',
    'first event; with JSON logs it is one log line with msg "banner".',
    '',
    'examples:',
    '  siem serve --role all',
    '  siem serve --role gateway --config deploy/config/siem.example.yaml --log-format json',
  ].join('\n'),
  run(argv) {
    return runCommand('serve', () => serve(argv));
  },
};

async function serve(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    role: { type: 'string', default: 'all' },
    config: { type: 'string', short: 'c' },
    'log-format': { type: 'string' },
  });
  const role = values.role as Role;
  if (!roles.includes(role)) throw new UsageError(`unknown role ${values.role}; one of ${roles.join(', ')}`);
  const requested = values['log-format'];
  if (requested !== undefined && !(logFormats as readonly string[]).includes(requested))
    throw new UsageError(`unknown log format ${requested}; one of ${logFormats.join(', ')}`);
  const config = loadRootConfig({ file: values.config ?? null });
  const format = (requested as LogFormat | undefined) ?? config.log.format;
  const logger = createLogger({ level: config.log.level, name: `siem-${role}`, format });
  collectProcessMetrics();
  const lifecycle = new Lifecycle(logger);
  const exit = (code: number) => {
    logger.flush();
    process.exit(code);
  };
  lifecycle.installSignalHandlers(exit);
  let view: Awaited<ReturnType<typeof startRole>>;
  try {
    view = await startRole(role, config, logger, lifecycle);
  } catch (err) {
    logger.fatal({ err }, 'start-up failed');
    await lifecycle.shutdown('start-up failed');
    throw err;
  }
  logger.info({ role, pid: process.pid }, 'started');
  showBanner(buildBanner(role, config, view), logger, resolveLogFormat(format) === 'pretty');
  return new Promise<number>(() => undefined); // runs until a signal ends the process
}
