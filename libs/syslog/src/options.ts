import { Host, Port, Section, type Static, Type } from '@siem/config';

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
  tenant: Type.Optional(Type.String({ minLength: 1, description: 'Tenant for events of this listener.' })),
});

export const syslogUdpOptionsSchema = Section(
  { ...listenerCommon(5514, true) },
  { description: 'Syslog over UDP (RFC 5426).' },
);
export const syslogTcpOptionsSchema = Section(
  { ...listenerCommon(5514, true) },
  { description: 'Syslog over TCP (RFC 6587): octet-counting and LF framing on one port.' },
);
export const syslogTlsOptionsSchema = Section(
  {
    ...listenerCommon(6514, false),
    cert_file: Type.Optional(Type.String({ description: 'Server certificate (PEM).' })),
    key_file: Type.Optional(Type.String({ description: 'Server private key (PEM).' })),
  },
  { description: 'Syslog over TLS (RFC 5425).' },
);

export type SyslogUdpOptions = Static<typeof syslogUdpOptionsSchema>;
export type SyslogTcpOptions = Static<typeof syslogTcpOptionsSchema>;
export type SyslogTlsOptions = Static<typeof syslogTlsOptionsSchema>;
