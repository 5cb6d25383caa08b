import { defineAdapter } from '@siem/config';
import { syslogTcpOptionsSchema, syslogTlsOptionsSchema, syslogUdpOptionsSchema } from './options.js';
import { SyslogStreamSource } from './stream.js';
import { SyslogUdpSource } from './udp.js';

/** `syslog_udp`: RFC 5424 / RFC 3164 datagrams (default port 5514). */
export const syslogUdpAdapter = defineAdapter({
  type: 'syslog_udp',
  schema: syslogUdpOptionsSchema,
  create: (id, options, context) => new SyslogUdpSource(id, options, context),
});

/** `syslog_tcp`: octet-counted or newline-framed syslog over TCP (default port 5514). */
export const syslogTcpAdapter = defineAdapter({
  type: 'syslog_tcp',
  schema: syslogTcpOptionsSchema,
  create: (id, options, context) => new SyslogStreamSource(id, options, context),
});

/** `syslog_tls`: RFC 5425 syslog over TLS (default port 6514). */
export const syslogTlsAdapter = defineAdapter({
  type: 'syslog_tls',
  schema: syslogTlsOptionsSchema,
  create: (id, options, context) => new SyslogStreamSource(id, options, context, true),
});

/** Every adapter type of this package, for the runtime's list. */
export const syslogAdapters = [syslogUdpAdapter, syslogTcpAdapter, syslogTlsAdapter] as const;
