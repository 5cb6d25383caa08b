import type { Channel } from './kinds/kind.js';

export const protocols = ['udp', 'tcp', 'tls', 'lumberjack', 'ndjson', 'http'] as const;
export type Protocol = (typeof protocols)[number];

export interface ProtocolInfo {
  /** The events it carries. */
  channel: Channel;
  /** The gateway's default port for it (see the architecture's port table). */
  defaultPort: number;
  describe: string;
}

export const protocolInfo: Record<Protocol, ProtocolInfo> = {
  udp: { channel: 'syslog', defaultPort: 5514, describe: 'syslog over UDP, one event per datagram' },
  tcp: { channel: 'syslog', defaultPort: 5514, describe: 'syslog over TCP (LF or octet-counted framing)' },
  tls: { channel: 'syslog', defaultPort: 6514, describe: 'syslog over TLS (RFC 5425)' },
  lumberjack: {
    channel: 'windows',
    defaultPort: 5515,
    describe: 'Windows events as Winlogbeat sends them (Beats/Lumberjack v2, windowed ACKs)',
  },
  ndjson: {
    channel: 'windows',
    defaultPort: 5515,
    describe: 'Windows events as newline-delimited JSON over TCP (NXLog om_tcp, Fluent Bit)',
  },
  http: {
    channel: 'cloud',
    defaultPort: 8080,
    describe: 'CloudTrail, Azure Activity and GCP audit batches to POST /api/v1/ingest/<type>',
  },
};
