import { type Static, type TObject, Type } from '@siem/config';

/**
 * The option fragments every network listener shares (syslog TCP/TLS, Windows events): each
 * listener's schema spreads them beside its own options, so the wording and bounds are the same.
 */

/** A duration option in milliseconds (at most a day unless `maximum` says otherwise). */
export const msOption = (description: string, dflt: number, maximum = 24 * 3600 * 1000) =>
  Type.Integer({ minimum: 0, maximum, default: dflt, description });

/** SO_REUSEPORT: every listener has it. */
export const reusePortOption = Type.Boolean({
  default: false,
  description: 'SO_REUSEPORT, so several processes share the port (needs Node.js 22.12 or later).',
});

/** How a stream listener (syslog TCP/TLS, Windows events) treats its connections. */
export const connectionOptions = {
  max_connections: Type.Integer({
    minimum: 1,
    maximum: 1_000_000,
    default: 10_000,
    description: 'Connections beyond this are refused (counted).',
  }),
  idle_timeout_ms: msOption('A connection silent this long is closed (counted); 0 = never.', 600_000),
  max_connections_per_address: Type.Integer({
    minimum: 1,
    maximum: 1_000_000,
    default: 256,
    description:
      'Connections from one source address beyond this are refused (counted as address_limit); raise it ' +
      'for many senders behind one NAT address.',
  }),
  max_pending_bytes: Type.Integer({
    minimum: 1024 * 1024,
    maximum: 64 * 1024 * 1024 * 1024,
    default: 64 * 1024 * 1024,
    description:
      "This listener's share of the process-wide budget of bytes held for frames not yet whole (every " +
      'running stream listener adds its share; one frame per connection is bounded by max_frame_bytes). ' +
      'Over budget, the connections holding the most are closed (counted as memory_budget).',
  }),
  keepalive: Type.Boolean({ default: true, description: 'TCP keepalive on accepted connections.' }),
  keepalive_initial_delay_ms: msOption('Idle time before the first keepalive probe.', 60_000),
};

/** The server side of TLS on a stream listener: certificate files, client certificates, version, reload. */
export const tlsServerOptions = {
  cert_file: Type.Optional(Type.String({ description: 'Server certificate chain (PEM).' })),
  key_file: Type.Optional(Type.String({ description: 'Server private key (PEM).' })),
  ca_file: Type.Optional(
    Type.String({ description: 'CA bundle (PEM) that client certificates must chain to (mTLS).' }),
  ),
  client_auth: Type.Union([Type.Literal('none'), Type.Literal('optional'), Type.Literal('required')], {
    default: 'none',
    description:
      'Client certificates: none; optional (verified when presented); required (mTLS). Both need ca_file. The ' +
      'client identity (subject CN, SANs, fingerprint) is attached to every event of the connection.',
  }),
  min_version: Type.Union([Type.Literal('TLSv1.2'), Type.Literal('TLSv1.3')], {
    default: 'TLSv1.2',
    description: 'Lowest TLS version accepted.',
  }),
  reload_check_interval_ms: msOption(
    'How often the certificate files are re-read to catch a change the file watch missed; 0 = never.',
    10_000,
    3_600_000,
  ),
};

export type ConnectionOptions = Static<TObject<typeof connectionOptions>>;
export type TlsServerOptions = Static<TObject<typeof tlsServerOptions>>;
