import { isSiemError } from '@siem/core';
import { adapterInstances, loadRootConfig } from '@siem/runtime';
import type { Command } from './command.js';

export const validateCommand: Command = {
  name: 'validate',
  usage: 'siem validate [FILE]   (default: $SIEM_CONFIG, else the built-in defaults)',
  async run(argv) {
    const file = argv[0] ?? null;
    let config: ReturnType<typeof loadRootConfig>;
    try {
      config = loadRootConfig({ file });
    } catch (err) {
      if (isSiemError(err, 'SIEM_ERR_CONFIG_INVALID') || isSiemError(err, 'SIEM_ERR_CONFIG_READ')) {
        process.stderr.write(`${err.message}\n`);
        return 1;
      }
      throw err;
    }
    const lines = [`${file ?? process.env.SIEM_CONFIG ?? 'defaults'}: valid`, 'adapters:'];
    for (const a of adapterInstances(config.adapters)) {
      const how = a.form === 'shorthand' ? 'key is its type' : `type: ${a.type}`;
      const where = typeof a.options.port === 'number' ? ` port ${a.options.port}` : '';
      const tenant = typeof a.options.tenant === 'string' ? ` tenant ${a.options.tenant}` : '';
      const state = a.options.enabled === true ? 'enabled' : 'disabled';
      lines.push(`  ${a.id}: ${a.type} (${how}), ${state}${where}${tenant}`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  },
};
