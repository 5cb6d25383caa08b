import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@siem/observability';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRootConfig } from './config-schema.js';
import { Lifecycle } from './lifecycle.js';
import { serveApi } from './serve-api.js';

/*
 * GET /api/v1/status of a role's API server as the runtime wires it: the configuration it shows is the
 * loaded one with every secret masked. Over real HTTP on a free loopback port (keyless mode).
 */
const dir = mkdtempSync(join(tmpdir(), 'siem-serve-api-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SECRETS = ['db-s3cr3t', 'sasl-s3cr3t', 'PRIVATE-KEY-PEM', 'oauth-s3cr3t'];

describe('serveApi', () => {
  it('shows the version, the role and the configuration with every secret masked', async () => {
    const file = join(dir, 'config.yaml');
    writeFileSync(
      file,
      [
        'api: { host: 127.0.0.1, port: 0 }',
        `storage: { database_url: "postgres://siem:${SECRETS[0]}@db.example:5432/siem" }`,
        'kafka:',
        `  sasl: { mechanism: SCRAM-SHA-512, username: gw, password: ${SECRETS[1]} }`,
        `  librdkafka: { ssl.key.pem: ${SECRETS[2]}, sasl.oauthbearer.config: "clientSecret=${SECRETS[3]}", linger.ms: 7 }`,
        '',
      ].join('\n'),
    );
    const config = loadRootConfig({ file, env: {} });
    const lifecycle = new Lifecycle(silentLogger);
    const api = await serveApi(config, silentLogger, lifecycle, { role: 'gateway', readiness: [] });
    try {
      const address = api!.app.server.address() as { port: number };
      const res = await fetch(`http://127.0.0.1:${address.port}/api/v1/status`, {
        headers: { 'x-siem-client': 'test' },
      });
      const text = await res.text();
      expect(res.status).toBe(200);
      for (const s of SECRETS) expect(text).not.toContain(s);
      const body = JSON.parse(text) as {
        version: string;
        role: string;
        config: {
          storage: { database_url: string };
          kafka: { sasl: { username: string }; librdkafka: Record<string, unknown> };
        };
        tiers: { state: string };
      };
      expect(body.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(body.role).toBe('gateway');
      expect(body.config.storage.database_url).toBe('postgres://siem:***@db.example:5432/siem');
      expect(body.config.kafka.sasl.username).toBe('gw');
      expect(body.config.kafka.librdkafka['linger.ms']).toBe(7);
      expect(body.tiers.state).toBe('none');
    } finally {
      await lifecycle.shutdown('test');
    }
  });
});
