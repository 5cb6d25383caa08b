/**
 * RawEventEncoder: encoded raw events per second on one core, for a syslog corpus with and without
 * structured data (as the gateway's parser hands it over: JSON text), against a reference: what
 * JSON-escaping the payload alone costs (JSON.stringify of its text and a Buffer copy of it), the work
 * a payload carried as a JSON string (raw event version 1) could not avoid. `npm run bench -- core`
 */
import { writeBenchReport } from '@siem/observability';
import { RawEventEncoder, type RawEventInput, type SyslogHeader } from '../src/index.js';

const header = (
  sd: SyslogHeader['structuredData'],
  format: SyslogHeader['format'] = 'rfc3164',
): SyslogHeader => ({
  format,
  facility: 4,
  severity: 6,
  timestamp: '2026-11-23T10:01:02.123+01:00',
  hostname: 'fw-edge-01.corp.example',
  appName: 'sshd',
  procId: '2211',
  msgId: null,
  structuredData: sd,
  msgOffset: 58,
});
const lines = [
  'Failed password for invalid user admin from 203.0.113.7 port 51122 ssh2',
  'pam_unix(sudo:session): session opened for user root(uid=0) by alice(uid=1000)',
  'date=2026-11-23 time=10:01:02 devname="FGT60F" type="traffic" subtype="forward" srcip=10.0.0.5 dstip=198.51.100.9 dstport=443 action="accept"',
];
const cases: Array<[string, RawEventInput[]]> = [
  [
    'rfc3164 (no SD)',
    lines.map((l) => ({
      receivedAtMs: Date.now(),
      sourceType: 'syslog' as const,
      syslog: header(null),
      marks: null,
      parseError: null,
      originalSize: 0,
      payload: Buffer.from(`<38>Nov 23 10:01:02 fw-edge-01 sshd[2211]: ${l}`),
    })),
  ],
  [
    'rfc5424 with SD',
    lines.map((l) => ({
      receivedAtMs: Date.now(),
      sourceType: 'syslog' as const,
      syslog: header(null, 'rfc5424'),
      structuredDataJson: JSON.stringify({
        'timeQuality@13166': { tzKnown: '1', isSynced: '1' },
        'origin@48577': { ip: '10.0.0.1' },
      }),
      marks: null,
      parseError: null,
      originalSize: 0,
      payload: Buffer.from(
        `<38>1 2026-11-23T10:01:02.123+01:00 fw-edge-01 sshd 2211 - [timeQuality tzKnown="1"] ${l}`,
      ),
    })),
  ],
];

const encoder = new RawEventEncoder(
  { adapter: 'syslog_tcp', transport: 'tcp', peerAddress: '10.1.2.3', peerPort: 51514, tls: null },
  'default',
);
const N = 400_000;
const rows = [];
for (const [name, inputs] of cases) {
  for (let i = 0; i < 50_000; i++) encoder.encode(inputs[i % inputs.length]!); // warm-up
  let bytes = 0;
  let t = process.hrtime.bigint();
  for (let i = 0; i < N; i++) bytes += encoder.encode(inputs[i % inputs.length]!).length;
  const enc = Number(process.hrtime.bigint() - t) / 1e9;
  t = process.hrtime.bigint();
  let sink = 0;
  for (let i = 0; i < N; i++) {
    const p = inputs[i % inputs.length]!.payload;
    sink += Buffer.from(JSON.stringify(p.toString('utf8'))).length;
  }
  const floor = Number(process.hrtime.bigint() - t) / 1e9;
  rows.push({
    case: name,
    events_per_s: Math.round(N / enc),
    ns_per_event: Math.round((enc / N) * 1e9),
    bytes_per_event: Math.round(bytes / N),
    escape_only_events_per_s: Math.round(N / floor),
    time_vs_escape_only: Number((enc / floor).toFixed(2)),
    _: sink > 0,
  });
}
writeBenchReport({
  name: 'core-encode',
  description:
    'RawEventEncoder.encode (raw event version 2: JSON envelope line, then the payload) on one core (400k ' +
    'events, 3 syslog lines, one encoder per connection; structured data as the parser hands it over, JSON ' +
    'text), against a reference: decode the payload to text, JSON-escape it and copy it into a Buffer — ' +
    'what carrying the payload as a JSON string (version 1) cost before the envelope was written.',
  rows: rows.map(({ _, ...r }) => r),
});
