import { loadRootConfig } from '@siem/runtime';
import { ApiClient, apiTarget } from './api-client.js';
import { parseCommandArgs, parseDuration, runCommand } from './cli-support.js';
import type { Command } from './command.js';
import { formatChecks, runChecks } from './poke-checks.js';

export const pokeCommand: Command = {
  name: 'poke',
  usage: [
    'siem poke [--api URL] [--config FILE] [--api-key KEY] [--kafka] [--timeout 5s] [--json]',
    '',
    'One line per check, ✓ ok, ✗ failed, – not used by this role; exit code 1 when any check failed.',
    'The API tells the role, the adapters, the buffer and the tier job; Kafka and the migrations of',
    'storage.database_url are checked directly with the configuration poke is given (--config, SIEM_*).',
    '',
    '  --api URL      API of the process to check (default: api.host:api.port of the configuration)',
    '  --api-key KEY  bearer token with the read scope, when the API has keys (siem api-key)',
    '  --kafka        check the configured brokers and topics even if the role reports no Kafka',
    '  --timeout D    how long each check may take (default 5s)',
    '  --json         {"ok": bool, "checks": [{name, status, detail}]} for scripts',
    '',
    'examples:',
    '  siem poke',
    '  siem poke --api http://10.0.0.5:8080 --api-key "$READ_TOKEN" --json',
    '  siem poke --config deploy/config/siem.example.yaml --kafka',
  ].join('\n'),
  run(argv) {
    return runCommand('poke', async () => {
      const { values } = parseCommandArgs(argv, {
        api: { type: 'string' },
        config: { type: 'string', short: 'c' },
        'api-key': { type: 'string' },
        kafka: { type: 'boolean', default: false },
        timeout: { type: 'string', default: '5s' },
        json: { type: 'boolean', default: false },
      });
      const timeoutMs = parseDuration(values.timeout, 'timeout', 100, 120_000);
      const config = loadRootConfig({ file: values.config ?? null });
      const client = new ApiClient(apiTarget(values.api, values['api-key'], config), timeoutMs);
      const checks = await runChecks(client, config, { kafka: values.kafka, timeoutMs });
      const good = checks.every((c) => c.status !== 'failed');
      if (values.json) process.stdout.write(`${JSON.stringify({ ok: good, checks })}\n`);
      else process.stdout.write(`${formatChecks(checks, process.stdout.isTTY === true)}\n`);
      return good ? 0 : 1;
    });
  },
};
