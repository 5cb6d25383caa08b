import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PORTS, defaultPortsLeftOpen, freePort } from './default-ports.js';
import { startRoleProcess } from './role-process.js';

describe('default ports in the settings of a role under test', () => {
  it('names every listener a role opens on its default port, and the setting that moves it', () => {
    expect(defaultPortsLeftOpen('gateway', {})).toEqual([
      'adapters__syslog_udp would listen on 5514: set SIEM_ADAPTERS__SYSLOG_UDP__PORT to a free port or SIEM_ADAPTERS__SYSLOG_UDP__ENABLED=false',
      'adapters__syslog_tcp would listen on 5514: set SIEM_ADAPTERS__SYSLOG_TCP__PORT to a free port or SIEM_ADAPTERS__SYSLOG_TCP__ENABLED=false',
      'adapters__windows_events would listen on 5515: set SIEM_ADAPTERS__WINDOWS_EVENTS__PORT to a free port or SIEM_ADAPTERS__WINDOWS_EVENTS__ENABLED=false',
      'api would listen on 8080: set SIEM_API__PORT to a free port or SIEM_API__ENABLED=false',
    ]);
    // the normalizer opens the API only
    expect(defaultPortsLeftOpen('normalizer', {})).toHaveLength(1);
    expect(defaultPortsLeftOpen('normalizer', { SIEM_API__PORT: '40001' })).toEqual([]);
  });

  it('accepts listeners moved or disabled, and catches one enabled or moved onto a default port', () => {
    const moved = {
      SIEM_ADAPTERS__SYSLOG_UDP__PORT: '40001',
      SIEM_ADAPTERS__SYSLOG_TCP__PORT: '40001',
      SIEM_ADAPTERS__WINDOWS_EVENTS__ENABLED: 'false',
      SIEM_API__PORT: '0',
    };
    expect(defaultPortsLeftOpen('all', moved)).toEqual([]);
    expect(defaultPortsLeftOpen('all', { ...moved, SIEM_ADAPTERS__SYSLOG_TLS__ENABLED: 'true' })).toEqual([
      expect.stringMatching(/^adapters__syslog_tls would listen on 6514: /),
    ]);
    expect(defaultPortsLeftOpen('all', { ...moved, SIEM_API__PORT: '5514' })).toEqual([
      expect.stringMatching(/^api would listen on 5514: /),
    ]);
  });

  it('stops startRoleProcess before it starts anything', async () => {
    await expect(startRoleProcess('gateway', { SIEM_API__PORT: '0' })).rejects.toThrow(
      /^a test's gateway role must not use the default ports:\n {2}adapters__syslog_udp would listen on 5514/,
    );
  });
});

describe('freePort', () => {
  it('gives a port that TCP and UDP can both bind on 127.0.0.1, none of the defaults', async () => {
    const port = await freePort();
    expect(DEFAULT_PORTS).not.toContain(port);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    const socket = createSocket('udp4');
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(port, '127.0.0.1', resolve);
      });
    } finally {
      socket.close();
      server.close();
    }
  });
});
