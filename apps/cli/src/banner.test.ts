import { loadRootConfig } from '@siem/runtime';
import { describe, expect, it } from 'vitest';
import { buildBanner, hostPort, maskPassword, renderBanner } from './banner.js';

const now = new Date('2026-12-03T10:00:00.123Z');

describe('start-up banner', () => {
  it('from the configuration: listeners, API and docs, data, and commands to send and read', () => {
    const config = loadRootConfig({ env: { SIEM_DATA_DIR: '/srv/siem' } });
    const b = buildBanner('all', config, undefined, now);
    expect(b.listeners.map((l) => `${l.adapter} ${l.address}`)).toEqual([
      'syslog_udp udp://0.0.0.0:5514',
      'syslog_tcp tcp://0.0.0.0:5514',
      'windows_events tcp://0.0.0.0:5515',
      'cloud_http http://127.0.0.1:8080/api/v1/ingest/{source_type}',
    ]);
    expect(b).toMatchObject({
      api: 'http://127.0.0.1:8080',
      docs: 'http://127.0.0.1:8080/docs',
      console: 'http://127.0.0.1:8080/console/',
      dataDir: '/srv/siem',
      database: 'embedded TimescaleDB (/srv/siem/timescaledb)',
    });
    expect(b.send[0]).toBe(
      "logger -n 127.0.0.1 -P 5514 -T -t sshd -p auth.info 'Failed password for invalid user admin from 203.0.113.7 port 50022 ssh2'",
    );
    expect(b.send[1]).toBe('npx siem emit-sample 100 --protocol tcp --to 127.0.0.1:5514');
    expect(b.send[2]).toMatch(
      /^curl -sS http:\/\/127\.0\.0\.1:8080\/api\/v1\/ingest\/cloudtrail .* -d '\{"Records":\[/,
    );
    const body = JSON.parse(/-d '(.*)'$/.exec(b.send[2]!)![1]!) as { Records: Array<{ eventTime: string }> };
    expect(body.Records[0]!.eventTime).toBe('2026-12-03T10:00:00Z');
    expect(b.read).toEqual([
      "curl -sS 'http://127.0.0.1:8080/api/v1/events?limit=5'",
      'npx siem tail',
      'npx siem poke',
    ]);
    const text = renderBanner(b, { color: false });
    expect(text).toContain('udp://0.0.0.0:5514');
    expect(text).toContain('API; docs at http://127.0.0.1:8080/docs');
    expect(text).toMatch(/http:\/\/127\.0\.0\.1:8080\/console\/\s+web console/);
    expect(text).toContain('database  embedded TimescaleDB (/srv/siem/timescaledb)');
    expect(text).not.toMatch(/\x1b\[/);
  });

  it('masks the database password; asks for a token when the API has keys', () => {
    expect(maskPassword('postgres://siem:s3cret@db:5432/siem')).toBe('postgres://siem:***@db:5432/siem');
    expect(maskPassword('postgres://siem@db/siem')).toBe('postgres://siem@db/siem');
    const config = loadRootConfig({
      env: {
        SIEM_STORAGE__DATABASE_URL: 'postgres://siem:s3cret@db:5432/siem',
        SIEM_API__KEYS_FILE: '/etc/siem/keys.yaml',
        SIEM_ADAPTERS__SYSLOG_TCP__ENABLED: 'false',
      },
    });
    const b = buildBanner('all', config, undefined, now);
    expect(b.database).toBe('postgres://siem:***@db:5432/siem');
    expect(b.send[0]).toMatch(/^logger -n 127\.0\.0\.1 -P 5514 -d /); // UDP without the TCP listener
    expect(b.read[0]).toContain("-H 'authorization: Bearer <token from siem api-key>'");
    expect(b.read[1]).toBe('npx siem tail --api-key <token>');
  });

  it('reads host and port of listen addresses, wildcards as loopback', () => {
    expect(hostPort('udp://0.0.0.0:5514')).toEqual({ host: '127.0.0.1', port: 5514 });
    expect(hostPort('tcp://[::]:6514')).toEqual({ host: '::1', port: 6514 });
    expect(hostPort('tcp://[::1]:6514')).toEqual({ host: '::1', port: 6514 });
    expect(hostPort('nonsense')).toBeNull();
  });
});
