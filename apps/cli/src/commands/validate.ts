import { isSiemError } from '@siem/core';
import { loadRootConfig } from '@siem/runtime';
import type { Command } from './command.js';

export const validateCommand: Command = {
  name: 'validate',
  usage: 'siem validate [FILE]   (default: $SIEM_CONFIG, else the built-in defaults)',
  async run(argv) {
    const file = argv[0] ?? null;
    try {
      loadRootConfig({ file });
    } catch (err) {
      if (isSiemError(err, 'SIEM_ERR_CONFIG_INVALID') || isSiemError(err, 'SIEM_ERR_CONFIG_READ')) {
        process.stderr.write(`${err.message}\n`);
        return 1;
      }
      throw err;
    }
    process.stdout.write(`${file ?? process.env.SIEM_CONFIG ?? 'defaults'}: valid\n`);
    return 0;
  },
};
