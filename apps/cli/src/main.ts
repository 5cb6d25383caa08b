#!/usr/bin/env node
import { isSiemError } from '@siem/core';
import { commands } from './commands/index.js';

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'usage: siem <command> [options]',
    '',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "siem <command> --help shows a command's usage.",
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${help()}\n`);
    return name === undefined ? 2 : 0;
  }
  const entry = commands.find((c) => c.name === name);
  if (entry === undefined) {
    process.stderr.write(`unknown command ${name}\n\n${help()}\n`);
    return 2;
  }
  const command = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${command.usage}\n`);
    return 0;
  }
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (isSiemError(err)) {
      process.stderr.write(`siem: ${err.code}: ${err.message}\n`);
    } else {
      process.stderr.write(`siem: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    }
    // Exit now: a role that failed half-way may still hold sockets or child processes.
    setImmediate(() => process.exit(1));
  },
);
