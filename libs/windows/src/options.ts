import { Host, Port, Section, type Static, Type } from '@siem/config';
import { connectionOptions, msOption, reusePortOption, tlsServerOptions } from '@siem/net';

const lumberjack = Section(
  {
    max_window_events: Type.Integer({
      minimum: 1,
      maximum: 1_000_000,
      default: 16_384,
      description:
        'A Lumberjack window size frame announcing more events closes the connection (counted; Winlogbeat ' +
        'sends at most its bulk_max_size, 2048 by default).',
    }),
    max_events_per_compressed_frame: Type.Integer({
      minimum: 1,
      maximum: 1_000_000,
      default: 16_384,
      description:
        'A compressed frame carrying more events closes the connection (counted): a few kilobytes of zlib ' +
        'must not become hundreds of thousands of events (window frames inside it do not reset the count). ' +
        'An event beyond the count its window announced closes the connection too.',
    }),
    max_decompressed_bytes: Type.Integer({
      minimum: 1024,
      maximum: 1024 * 1024 * 1024,
      default: 64 * 1024 * 1024,
      description:
        'A compressed frame that inflates to more than this closes the connection (counted): the bound on ' +
        'memory per connection against decompression bombs.',
    }),
    keepalive_ack_interval_ms: msOption(
      'While the buffer holds the ACKs back (pause), an ACK of sequence 0 is sent this often so the shipper ' +
        'does not time out and resend (what Logstash does); 0 = never.',
      5_000,
      3_600_000,
    ),
  },
  { description: 'Beats / Lumberjack v2 (Winlogbeat logstash output).' },
);

const tls = Section(
  {
    enabled: Type.Boolean({
      default: false,
      description: 'Serve TLS only on this port (NXLog om_ssl, Fluent Bit tls on, Winlogbeat ssl).',
    }),
    ...tlsServerOptions,
  },
  { description: 'TLS for both protocols of this port.' },
);

export const windowsEventsOptionsSchema = Section(
  {
    enabled: Type.Boolean({ default: true, description: 'Start this listener with the process.' }),
    host: Host('Address to listen on (0.0.0.0 or :: for all interfaces).', '0.0.0.0'),
    port: Port('Port to listen on (newline-delimited JSON and Lumberjack v2 share it).', 5515),
    protocol: Type.Union([Type.Literal('auto'), Type.Literal('ndjson'), Type.Literal('lumberjack')], {
      default: 'auto',
      description:
        'auto: decided per connection by its first byte ("2", the Lumberjack version, or anything else: ' +
        'newline-delimited JSON); ndjson or lumberjack: every connection speaks that one.',
    }),
    tenant: Type.Optional(Type.String({ minLength: 1, description: 'Tenant for events of this listener.' })),
    ack: Type.Union([Type.Literal('memory'), Type.Literal('durable')], {
      default: 'memory',
      description:
        'When a Lumberjack window is ACKed (the writer then forgets it; Winlogbeat deletes its queue). memory: once ' +
        'the events are in the buffer, fastest, but a crash of this process loses what memory held. durable: once ' +
        'they are on disk and synced (survives SIGKILL and power loss), at the cost of a disk write and fsync per ' +
        'window. The Helm chart sets durable. Newline-delimited JSON has no ACKs: this does not apply to it.',
    }),
    max_message_bytes: Type.Integer({
      minimum: 1024,
      maximum: 64 * 1024 * 1024,
      default: 256 * 1024,
      description:
        'Longer events (a JSON line, a Lumberjack JSON frame) are cut to this, kept, marked truncated and ' +
        'counted.',
    }),
    max_array_events: Type.Integer({
      minimum: 1,
      maximum: 100_000,
      default: 100,
      description:
        'An event (a JSON line, a Lumberjack JSON frame) that is a JSON array becomes one row per element up ' +
        'to this many; a longer array stays one event, whole, marked parse_error too_many_records and counted.',
    }),
    max_frame_bytes: Type.Integer({
      minimum: 1024,
      maximum: 1024 * 1024 * 1024,
      default: 4 * 1024 * 1024,
      description:
        'A JSON line or a Lumberjack frame (JSON or compressed) longer than this closes its connection ' +
        '(counted): the bound on memory per connection.',
    }),
    ...connectionOptions,
    reuse_port: reusePortOption,
    lumberjack,
    tls,
  },
  {
    description:
      'Windows events: newline-delimited JSON (NXLog to_json, Fluent Bit json_lines, OpenWEC) and the ' +
      'Beats/Lumberjack v2 protocol (Winlogbeat), over TCP or TLS, on one port.',
  },
);

export type WindowsEventsOptions = Static<typeof windowsEventsOptionsSchema>;
