import { exampleConfig } from '@siem/config';
import { rootConfigSchema } from '@siem/runtime';
import type { Command } from './command.js';

export const EXAMPLE_HEADER = [
  'siem configuration: every key with its default, generated from the schema by `siem config-example`.',
  'Any key can be overridden by environment: SIEM_<SECTION>__<KEY>, e.g. SIEM_KAFKA__BROKERS,',
  'SIEM_ADAPTERS__SYSLOG_UDP__PORT, SIEM_DATA_DIR. Unknown keys are rejected.',
].join('\n');

export function renderExampleConfig(): string {
  return exampleConfig(rootConfigSchema, EXAMPLE_HEADER);
}

export const configExampleCommand: Command = {
  name: 'config-example',
  usage: 'siem config-example > deploy/config/siem.example.yaml',
  async run() {
    process.stdout.write(renderExampleConfig());
    return 0;
  },
};
