import { Host, Port, Section, type Static, Type } from '@siem/config';
import { connectionOptions, msOption, reusePortOption, tlsServerOptions } from '@siem/net';

const rateLimit = Section(
  {
    enabled: Type.Boolean({
      default: false,
      description: 'Limit events per source address; what goes over is discarded and counted.',
    }),
    events_per_second: Type.Integer({
      minimum: 1,
      default: 10_000,
      description: 'Sustained events per second allowed for one source address.',
    }),
    burst: Type.Integer({
      minimum: 1,
      default: 20_000,
      description: 'Events one source address may send at once above the sustained rate.',
    }),
    max_sources: Type.Integer({
      minimum: 1,
      default: 100_000,
      description: 'Source addresses tracked at once; beyond this the table restarts (memory bound).',
    }),
  },
  { description: 'Token-bucket rate limit per source address (optional).' },
);

/** Options every syslog listener shares. */
const listenerCommon = (port: number, enabled: boolean) => ({
  enabled: Type.Boolean({ default: enabled, description: 'Start this listener with the process.' }),
  host: Host('Address to listen on (0.0.0.0 or :: for all interfaces).', '0.0.0.0'),
  port: Port('Port to listen on.', port),
  max_message_bytes: Type.Integer({
    minimum: 480,
    maximum: 16 * 1024 * 1024,
    default: 64 * 1024,
    description: 'Longer messages are truncated, marked and counted.',
  }),
  default_timezone: Type.String({
    default: 'UTC',
    description: 'IANA zone for timestamps that carry none (RFC 3164 senders), e.g. Europe/Berlin.',
  }),
  format: Type.Union([Type.Literal('auto'), Type.Literal('rfc3164'), Type.Literal('rfc5424')], {
    default: 'auto',
    description: 'Header format: auto detects RFC 5424 (`<PRI>1 `) and reads anything else as RFC 3164.',
  }),
  tenant: Type.Optional(Type.String({ minLength: 1, description: 'Tenant for events of this listener.' })),
  reuse_port: reusePortOption,
  rate_limit: rateLimit,
});

/** Options of the stream listeners (TCP, TLS). */
const streamCommon = {
  ...connectionOptions,
  max_frame_bytes: Type.Integer({
    minimum: 480,
    maximum: 256 * 1024 * 1024,
    default: 1024 * 1024,
    description:
      'A frame (octet count or line) longer than this closes its connection (counted); frames between ' +
      'max_message_bytes and this are truncated.',
  }),
  nul_delimiter: Type.Boolean({
    default: false,
    description: 'Non-transparent framing: NUL ends a message as well as LF.',
  }),
};

export const syslogUdpOptionsSchema = Section(
  {
    ...listenerCommon(5514, true),
    receive_buffer_bytes: Type.Integer({
      minimum: 0,
      maximum: 1024 * 1024 * 1024,
      default: 8 * 1024 * 1024,
      description:
        'Socket receive buffer (SO_RCVBUF; the kernel caps it at net.core.rmem_max); 0 = OS default.',
    }),
    kernel_stats_interval_ms: msOption(
      'How often kernel drops are read from /proc/net/udp and udp6; 0 = never.',
      5_000,
      3_600_000,
    ),
  },
  { description: 'Syslog over UDP (RFC 5426).' },
);

export const syslogTcpOptionsSchema = Section(
  { ...listenerCommon(5514, true), ...streamCommon },
  { description: 'Syslog over TCP (RFC 6587): octet-counting and LF framing on one port.' },
);

export const syslogTlsOptionsSchema = Section(
  {
    ...listenerCommon(6514, false),
    ...streamCommon,
    ...tlsServerOptions,
  },
  { description: 'Syslog over TLS (RFC 5425).' },
);

export type SyslogUdpOptions = Static<typeof syslogUdpOptionsSchema>;
export type SyslogTcpOptions = Static<typeof syslogTcpOptionsSchema>;
export type SyslogTlsOptions = Static<typeof syslogTlsOptionsSchema>;
export type SyslogRateLimitOptions = Static<typeof rateLimit>;
