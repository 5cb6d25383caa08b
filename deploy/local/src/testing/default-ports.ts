/**
 * Tests never bind the default ports: a developer may be running `npm start` on the same machine, and
 * a test that takes 5514 or 8080 then fails, or talks to the developer's gateway instead of its own.
 * startRoleProcess refuses a role whose settings leave a listener it opens on a default port; freePort
 * gives a port to use instead.
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import type { Role } from './role-process.js';

/** The default ports of syslog (UDP and TCP), Windows events, syslog over TLS and the API. */
export const DEFAULT_PORTS: readonly number[] = [5514, 5515, 6514, 8080];

export interface RoleListener {
  /** The settings section, as in SIEM_<SECTION>__PORT. */
  section: string;
  port: number;
  enabledByDefault: boolean;
  roles: readonly Role[];
}

/**
 * Every listener a role opens and its defaults (the configuration schema's; a unit test holds the two
 * together). The normalizer role opens the API only.
 */
export const roleListeners: readonly RoleListener[] = [
  { section: 'ADAPTERS__SYSLOG_UDP', port: 5514, enabledByDefault: true, roles: ['gateway', 'all'] },
  { section: 'ADAPTERS__SYSLOG_TCP', port: 5514, enabledByDefault: true, roles: ['gateway', 'all'] },
  { section: 'ADAPTERS__SYSLOG_TLS', port: 6514, enabledByDefault: false, roles: ['gateway', 'all'] },
  { section: 'ADAPTERS__WINDOWS_EVENTS', port: 5515, enabledByDefault: true, roles: ['gateway', 'all'] },
  { section: 'API', port: 8080, enabledByDefault: true, roles: ['gateway', 'normalizer', 'all'] },
];

/**
 * The listeners that the settings `env` of a `role` leave enabled on a default port, one line each
 * saying which setting to give. A configuration file is not read: the environment must say it.
 */
export function defaultPortsLeftOpen(role: Role, env: Record<string, string | undefined>): string[] {
  const problems: string[] = [];
  for (const l of roleListeners) {
    if (!l.roles.includes(role)) continue;
    const enabled = env[`SIEM_${l.section}__ENABLED`];
    if (enabled === undefined ? !l.enabledByDefault : enabled === 'false') continue;
    const setting = env[`SIEM_${l.section}__PORT`];
    const port = setting === undefined ? l.port : Number(setting);
    if (!DEFAULT_PORTS.includes(port)) continue;
    problems.push(
      `${l.section.toLowerCase()} would listen on ${port}: set SIEM_${l.section}__PORT to a free port ` +
        `or SIEM_${l.section}__ENABLED=false`,
    );
  }
  return problems;
}

function kernelTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => resolve(false));
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

/**
 * A port of 127.0.0.1 that nothing holds now, for TCP and UDP alike (syslog listens on one port for
 * both): the kernel's pick for port 0, for a child process to bind.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await kernelTcpPort();
    if (await udpFree(port)) return port;
  }
  throw new Error('no port of 127.0.0.1 was free for both TCP and UDP in 20 tries');
}
