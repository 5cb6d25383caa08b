import { join } from 'node:path';
import type { Logger } from '@siem/observability';
import { adapterInstances, dataDir, type RootConfig } from '@siem/runtime';
import type { Role, RoleView } from './roles.js';

/** One listener of the banner: what it speaks and where. */
export interface BannerListener {
  adapter: string;
  protocol: string;
  /** `udp://0.0.0.0:5514`, `http://127.0.0.1:8080/api/v1/ingest/{source_type}`, … */
  address: string;
  state: string;
}

/** What a person needs after `npm start`: where to send, where to look, where the data is. */
export interface Banner {
  role: Role;
  listeners: BannerListener[];
  /** Base URL of the API, null when disabled. */
  api: string | null;
  docs: string | null;
  /** The web console the API serves (`<api>/console/`), null when the API is disabled. */
  console: string | null;
  dataDir: string;
  /** `embedded TimescaleDB (<dir>)` or the database URL with its password masked; null: none (gateway). */
  database: string | null;
  /** Copy-paste commands that send a first event. */
  send: string[];
  /** Copy-paste commands that read it back. */
  read: string[];
}

const PROTOCOLS: Record<string, string> = {
  syslog_udp: 'syslog over UDP (RFC 5424/3164)',
  syslog_tcp: 'syslog over TCP (RFC 6587 framing)',
  syslog_tls: 'syslog over TLS (RFC 5425)',
  windows_events: 'Windows events (NDJSON, Lumberjack v2)',
  cloud_http: 'cloud logs (HTTP POST: cloudtrail, azure_activity, gcp_logging)',
};

const SCHEMES: Record<string, string> = {
  syslog_udp: 'udp',
  syslog_tcp: 'tcp',
  syslog_tls: 'tls',
  windows_events: 'tcp',
};

/** A URL's password replaced by `***`, so the banner and logs never show it. */
export function maskPassword(url: string): string {
  try {
    const u = new URL(url);
    if (u.password === '') return url;
    u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
  }
}

/** A wildcard or bracketed listen host → an address a local client can connect to. */
function connectHost(host: string): string {
  const h = host.replace(/^\[|\]$/g, '');
  if (h === '0.0.0.0' || h === '') return '127.0.0.1';
  if (h === '::') return '::1';
  return h;
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** host and port of a listen address `scheme://host:port[/path]`. */
export function hostPort(address: string): { host: string; port: number } | null {
  const m = /^[a-z]+:\/\/(\[[^\]]+\]|[^:/]+):(\d+)/.exec(address);
  if (m === null) return null;
  return { host: connectHost(m[1]!), port: Number(m[2]) };
}

type AdapterSection = { enabled: boolean; host?: string; port?: number };

/** The listeners: from the running adapters when the role shows them, else from the configuration. */
function listenersOf(config: RootConfig, view: RoleView | undefined, api: string | null): BannerListener[] {
  if (view?.adapters) {
    return view.adapters
      .list()
      .filter((a) => a.state !== 'stopped' || a.listen !== null)
      .map((a) => ({
        adapter: a.name,
        protocol: PROTOCOLS[a.type] ?? a.type,
        address: a.listen ?? '-',
        state: a.state,
      }));
  }
  const out: BannerListener[] = [];
  for (const { id, type, options } of adapterInstances(config.adapters)) {
    const section = options as AdapterSection;
    if (!section.enabled) continue;
    const address =
      type === 'cloud_http'
        ? api === null
          ? '-'
          : `${api}/api/v1/ingest/{source_type}`
        : `${SCHEMES[type] ?? 'tcp'}://${urlHost(section.host ?? '0.0.0.0')}:${section.port ?? 0}`;
    out.push({ adapter: id, protocol: PROTOCOLS[type] ?? type, address, state: 'configured' });
  }
  return out;
}

function apiBase(config: RootConfig, view: RoleView | undefined): string | null {
  if (!config.api.enabled) return null;
  const scheme = config.api.tls.cert_file !== null ? 'https' : 'http';
  const address = view?.api?.app.server.address();
  if (address !== null && typeof address === 'object' && address !== undefined) {
    return `${scheme}://${urlHost(connectHost(address.address))}:${address.port}`;
  }
  return `${scheme}://${urlHost(connectHost(config.api.host))}:${config.api.port}`;
}

/** The tiny CloudTrail record the banner's curl line posts: a failed console login, now. */
function cloudtrailSample(now: Date): string {
  return JSON.stringify({
    Records: [
      {
        eventVersion: '1.08',
        eventTime: now.toISOString().replace(/\.\d+Z$/, 'Z'),
        eventSource: 'signin.amazonaws.com',
        eventName: 'ConsoleLogin',
        awsRegion: 'us-east-1',
        sourceIPAddress: '198.51.100.23',
        userIdentity: { type: 'IAMUser', userName: 'alice', accountId: '111122223333' },
        responseElements: { ConsoleLogin: 'Failure' },
        errorMessage: 'Failed authentication',
      },
    ],
  });
}

/** Builds the banner of a started role. */
export function buildBanner(role: Role, config: RootConfig, view?: RoleView, now = new Date()): Banner {
  const api = apiBase(config, view);
  const listeners = listenersOf(config, view, api);
  const keys = config.api.keys.length > 0 || config.api.keys_file !== null;
  const auth = keys ? " -H 'authorization: Bearer <token from siem api-key>'" : '';
  const keyFlag = keys ? ' --api-key <token>' : '';
  const apiFlag = api === null || api === 'http://127.0.0.1:8080' ? '' : ` --api ${api}`;
  const running = (name: string) => listeners.find((l) => l.adapter === name && l.address !== '-');

  const send: string[] = [];
  const tcp = running('syslog_tcp');
  const udp = running('syslog_udp');
  const syslog = tcp ?? udp;
  const at = syslog === undefined ? null : hostPort(syslog.address);
  if (at !== null) {
    const transport = syslog === tcp ? '-T' : '-d';
    send.push(
      `logger -n ${at.host} -P ${at.port} ${transport} -t sshd -p auth.info 'Failed password for invalid user admin from 203.0.113.7 port 50022 ssh2'`,
    );
    send.push(
      `npx siem emit-sample 100 --protocol ${syslog === tcp ? 'tcp' : 'udp'} --to ${urlHost(at.host)}:${at.port}`,
    );
  }
  if (running('cloud_http') !== undefined && api !== null) {
    send.push(
      `curl -sS ${api}/api/v1/ingest/cloudtrail -H 'content-type: application/json'${auth} -d '${cloudtrailSample(now)}'`,
    );
  }
  const read: string[] = [];
  if (api !== null && role !== 'gateway') {
    read.push(`curl -sS '${api}/api/v1/events?limit=5'${auth}`);
    read.push(`npx siem tail${apiFlag}${keyFlag}`);
  }
  if (api !== null) read.push(`npx siem poke${apiFlag}${keyFlag}`);

  let database: string | null = null;
  if (role !== 'gateway') {
    database =
      view?.database?.embedded === true || (view?.database == null && config.storage.database_url === null)
        ? `embedded TimescaleDB (${join(dataDir(config), 'timescaledb')})`
        : maskPassword(view?.database?.url ?? config.storage.database_url ?? '');
  }
  return {
    role,
    listeners,
    api,
    docs: api === null ? null : `${api}/docs`,
    console: api === null ? null : `${api}/console/`,
    dataDir: dataDir(config),
    database,
    send,
    read,
  };
}

export interface RenderOptions {
  color: boolean;
}

/** The banner as a person reads it on a terminal. */
export function renderBanner(b: Banner, o: RenderOptions): string {
  const bold = (s: string) => (o.color ? `\x1b[1m${s}\x1b[22m` : s);
  const dim = (s: string) => (o.color ? `\x1b[2m${s}\x1b[22m` : s);
  const width = Math.max(0, ...b.listeners.map((l) => l.address.length));
  const lines = ['', bold(`SIEM gateway (${b.role}) is up.`), '', bold('Listening')];
  for (const l of b.listeners) {
    const state = l.state === 'running' || l.state === 'configured' ? '' : `  [${l.state}]`;
    lines.push(`  ${l.address.padEnd(width)}  ${l.protocol}${state}`);
  }
  if (b.listeners.length === 0) lines.push('  (no adapter enabled)');
  if (b.api !== null) lines.push(`  ${b.api.padEnd(width)}  API; docs at ${b.docs}`);
  if (b.console !== null) lines.push(`  ${b.console.padEnd(width)}  web console`);
  lines.push('', bold('Data'), `  folder    ${b.dataDir}`);
  if (b.database !== null) lines.push(`  database  ${b.database}`);
  if (b.send.length > 0) {
    lines.push('', bold('Send a first event'));
    for (const c of b.send) lines.push(`  ${c}`);
  }
  if (b.read.length > 0) {
    lines.push('', bold('Read it back'));
    for (const c of b.read) lines.push(`  ${c}`);
  }
  lines.push('', dim('Ctrl-C stops (the buffer drains first).'), '');
  return lines.join('\n');
}

/**
 * Shows the banner: as text on a terminal with readable logs, or as ONE JSON log line (`msg: banner`)
 * when the log is JSON, so log shippers and tests read the same facts without a block of prose in the
 * middle of their lines.
 */
export function showBanner(b: Banner, logger: Logger, pretty: boolean): void {
  if (pretty) {
    process.stdout.write(`${renderBanner(b, { color: process.stdout.isTTY === true })}\n`);
    return;
  }
  logger.info(
    {
      listeners: b.listeners,
      api: b.api,
      docs: b.docs,
      console: b.console,
      data_dir: b.dataDir,
      database: b.database,
      send: b.send,
      read: b.read,
    },
    'banner',
  );
}
