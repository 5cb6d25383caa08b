/**
 * Test support: raw records in bulk, as a gateway would put them on the raw topic — RFC 5424 sshd lines
 * from 16 hosts, each record one row, each with its own event id, so stored rows can be counted
 * against what was produced.
 */
import { RawEventEncoder, type SyslogHeader } from '@siem/core';
import type { OutRecord } from '@siem/local-stack';

const HOSTS = 16;

/** Records `from` … `to - 1` of a deterministic stream of syslog raw events. */
export function syslogRecords(from: number, to: number): OutRecord[] {
  const encoders = Array.from(
    { length: HOSTS },
    (_, h) =>
      new RawEventEncoder(
        {
          adapter: 'syslog_tcp',
          transport: 'tcp',
          peerAddress: `10.0.0.${h + 1}`,
          peerPort: 40000 + h,
          tls: null,
        },
        'load',
      ),
  );
  const out: OutRecord[] = [];
  const base = Date.now();
  for (let i = from; i < to; i++) {
    const h = i % HOSTS;
    const host = `host-${h}`;
    const ts = new Date(base - (to - i) * 10).toISOString();
    const msg = `Failed password for user${i} from 198.51.100.${i % 250} port ${1024 + (i % 60000)} ssh2`;
    const head = `<38>1 ${ts} ${host} sshd ${1000 + h} - - `;
    const payload = Buffer.from(head + msg);
    const header: SyslogHeader = {
      format: 'rfc5424',
      facility: 4,
      severity: 6,
      timestamp: ts,
      hostname: host,
      appName: 'sshd',
      procId: String(1000 + h),
      msgId: null,
      structuredData: null,
      msgOffset: Buffer.byteLength(head),
    };
    const value = encoders[h]!.encode({
      receivedAtMs: base,
      sourceType: 'syslog',
      syslog: header,
      marks: null,
      parseError: null,
      originalSize: payload.length,
      payload,
    });
    out.push({ key: host, value });
  }
  return out;
}
