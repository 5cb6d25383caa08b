import { parseArgs } from 'node:util';
import { generateApiKey, hashApiKey } from '@siem/runtime';
import type { Command } from './command.js';

const SCOPES = ['read', 'tail', 'admin', 'ingest'] as const;

const USAGE = [
  'siem api-key --id NAME --scopes read,tail[,admin,ingest] [--tenant TENANT] [--json]',
  '',
  'Creates an API key. The token is printed once, here: store it where the client keeps secrets.',
  'The configuration (api.keys, or the file named by api.keys_file, e.g. a Kubernetes secret) gets',
  'only the entry printed below it, which holds the SHA-256 of the token, never the token.',
  '  --id      name of the key (letters, digits, _ . -), shown in logs and used for rate limiting',
  '  --scopes  comma-separated: read (events, histogram, adapters, stats), tail (live tail),',
  '            admin (start/stop/reconfigure adapters), ingest (intake endpoints)',
  "  --tenant  bind the key to one tenant: it can never read another tenant's events",
  '  --json    print {token, entry} as JSON instead of text',
].join('\n');

function yamlString(s: string): string {
  return /^[A-Za-z0-9_.-]+$/.test(s) && !/^(true|false|null|yes|no|on|off|~|[0-9.e+-]+)$/i.test(s)
    ? s
    : JSON.stringify(s);
}

export const apiKeyCommand: Command = {
  name: 'api-key',
  usage: USAGE,
  async run(argv) {
    let values: { id?: string; scopes?: string; tenant?: string; json?: boolean };
    try {
      ({ values } = parseArgs({
        args: argv,
        options: {
          id: { type: 'string' },
          scopes: { type: 'string' },
          tenant: { type: 'string' },
          json: { type: 'boolean', default: false },
        },
        strict: true,
        allowPositionals: false,
      }));
    } catch (err) {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}\n`);
      return 2;
    }
    const problems: string[] = [];
    const id = values.id ?? '';
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(id))
      problems.push('--id is required: letters, digits, _ . - (at most 64)');
    const scopes = [
      ...new Set(
        (values.scopes ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== ''),
      ),
    ];
    if (scopes.length === 0)
      problems.push(`--scopes is required: a comma-separated list of ${SCOPES.join(', ')}`);
    for (const s of scopes) {
      if (!(SCOPES as readonly string[]).includes(s))
        problems.push(`unknown scope ${s} (known: ${SCOPES.join(', ')})`);
    }
    const tenant = values.tenant ?? null;
    if (tenant === '') problems.push('--tenant must not be empty');
    if (problems.length > 0) {
      process.stderr.write(`${problems.join('\n')}\n\n${USAGE}\n`);
      return 2;
    }

    const token = generateApiKey();
    const entry = { id, hash: hashApiKey(token), scopes, tenant };
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ token, entry }, null, 2)}\n`);
      return 0;
    }
    process.stdout.write(
      [
        '# The token (shown this once; the gateway keeps only its hash):',
        `#   ${token}`,
        '# Clients send it as: Authorization: Bearer <token>',
        '#',
        '# Add this entry to api.keys in the configuration, or to the keys file (api.keys_file):',
        `- id: ${yamlString(id)}`,
        `  hash: ${entry.hash}`,
        `  scopes: [${scopes.join(', ')}]`,
        `  tenant: ${tenant === null ? 'null' : yamlString(tenant)}`,
        '',
      ].join('\n'),
    );
    return 0;
  },
};
