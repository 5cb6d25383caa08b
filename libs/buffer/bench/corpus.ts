import { type BufferRecord, RawEventEncoder, type SyslogHeader } from '@siem/core';

/**
 * A realistic syslog corpus for the buffer benchmarks: what the buffer really carries, i.e. raw events
 * encoded by the core encoder (JSON envelope + original line), keyed by host. The lines mix sshd,
 * sudo, cron, kernel firewall drops, nginx access logs, FortiGate key=value traffic logs, Palo Alto
 * CEF and RFC 5424 application events, with random addresses, ports, users and ids (a deterministic
 * generator, so every run measures the same bytes).
 */

let state = 0x9e3779b9;
function rnd(n: number): number {
  // xorshift32
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) % n;
}
const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)]!;
const ip = (net: string) => `${net}.${rnd(256)}.${1 + rnd(254)}`;
const pub = () =>
  `${pick(['203.0.113', '198.51.100', '192.0.2', '45.33.32', '185.220.101'])}.${1 + rnd(254)}`;
const port = () => 1024 + rnd(64000);
const hex = (n: number) => Array.from({ length: n }, () => '0123456789abcdef'[rnd(16)]).join('');
const users = [
  'alice',
  'bob',
  'carol',
  'deploy',
  'root',
  'admin',
  'svc-backup',
  'jenkins',
  'postgres',
  'oracle',
];
const hosts = Array.from(
  { length: 200 },
  (_, i) => `${pick(['web', 'db', 'app', 'fw', 'lb', 'k8s-node'])}-${String(i).padStart(3, '0')}`,
);
const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function bsdTime(ms: number): string {
  const d = new Date(ms);
  const p = (x: number) => String(x).padStart(2, '0');
  return `${months[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

interface Line {
  text: string;
  host: string;
  app: string | null;
  pid: string | null;
  facility: number;
  severity: number;
}

function line(ms: number): Line {
  const host = pick(hosts);
  const pid = String(1000 + rnd(60000));
  const t = bsdTime(ms);
  switch (rnd(9)) {
    case 0: {
      const ok = rnd(3) > 0;
      const msg = ok
        ? `Accepted publickey for ${pick(users)} from ${ip('10.20')} port ${port()} ssh2: RSA SHA256:${hex(43)}`
        : `Failed password for ${rnd(2) ? 'invalid user ' : ''}${pick(users)} from ${pub()} port ${port()} ssh2`;
      return {
        text: `<38>${t} ${host} sshd[${pid}]: ${msg}`,
        host,
        app: 'sshd',
        pid,
        facility: 4,
        severity: ok ? 6 : 5,
      };
    }
    case 1:
      return {
        text: `<85>${t} ${host} sudo:    ${pick(users)} : TTY=pts/${rnd(9)} ; PWD=/srv/${pick(users)} ; USER=root ; COMMAND=/usr/bin/systemctl restart ${pick(['nginx', 'postgresql', 'sshd', 'docker'])}`,
        host,
        app: 'sudo',
        pid: null,
        facility: 10,
        severity: 5,
      };
    case 2:
      return {
        text: `<78>${t} ${host} CRON[${pid}]: (${pick(users)}) CMD (/usr/local/bin/${pick(['backup.sh', 'rotate-logs', 'certbot renew', 'sync-repo'])} >/dev/null 2>&1)`,
        host,
        app: 'CRON',
        pid,
        facility: 9,
        severity: 6,
      };
    case 3:
      return {
        text: `<4>${t} ${host} kernel: [UFW BLOCK] IN=eth0 OUT= MAC=${hex(2)}:${hex(2)}:${hex(2)}:${hex(2)}:${hex(2)}:${hex(2)}:${hex(2)}:${hex(2)}:08:00 SRC=${pub()} DST=${ip('10.0')} LEN=${40 + rnd(1400)} TOS=0x00 PREC=0x00 TTL=${32 + rnd(200)} ID=${rnd(65535)} DF PROTO=TCP SPT=${port()} DPT=${pick([22, 23, 445, 3389, 8080])} WINDOW=${rnd(65535)} RES=0x00 SYN URGP=0`,
        host,
        app: 'kernel',
        pid: null,
        facility: 0,
        severity: 4,
      };
    case 4:
      return {
        text: `<190>${t} ${host} nginx: ${pub()} - - [${new Date(ms).toUTCString()}] "${pick(['GET', 'POST', 'PUT'])} /api/v1/${pick(['orders', 'users', 'invoices', 'health'])}?id=${rnd(100000)} HTTP/1.1" ${pick([200, 200, 200, 201, 304, 404, 500])} ${rnd(50000)} "-" "${pick(['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36', 'curl/8.5.0', 'Go-http-client/2.0', 'okhttp/4.12.0'])}"`,
        host,
        app: 'nginx',
        pid: null,
        facility: 23,
        severity: 6,
      };
    case 5:
      return {
        text: `<189>date=${new Date(ms).toISOString().slice(0, 10)} time=${new Date(ms).toISOString().slice(11, 19)} devname="FGT-${host}" devid="FGT60F${hex(10).toUpperCase()}" logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root" eventtime=${ms}000 srcip=${ip('10.1')} srcport=${port()} srcintf="port${1 + rnd(8)}" srcintfrole="lan" dstip=${pub()} dstport=${pick([443, 80, 53, 123, 8443])} dstintf="wan1" dstintfrole="wan" sessionid=${rnd(99999999)} proto=${pick([6, 17])} action="${pick(['accept', 'close', 'deny', 'timeout'])}" policyid=${rnd(200)} policytype="policy" service="${pick(['HTTPS', 'HTTP', 'DNS', 'NTP'])}" dstcountry="${pick(['United States', 'Germany', 'France', 'Japan'])}" srccountry="Reserved" trandisp="snat" duration=${rnd(3600)} sentbyte=${rnd(1e6)} rcvdbyte=${rnd(1e7)} sentpkt=${rnd(1000)} rcvdpkt=${rnd(5000)} appcat="unscanned"`,
        host,
        app: null,
        pid: null,
        facility: 23,
        severity: 5,
      };
    case 6:
      return {
        text: `<134>${t} ${host} CEF:0|Palo Alto Networks|PAN-OS|10.2.4|${pick(['TRAFFIC', 'THREAT'])}|${pick(['end', 'drop', 'deny'])}|${rnd(10)}|rt=${t} 2024 deviceExternalId=0123456789 src=${ip('10.3')} dst=${pub()} sourceTranslatedAddress=${pub()} spt=${port()} dpt=${pick([443, 53, 25])} proto=${pick(['TCP', 'UDP'])} act=${pick(['allow', 'deny', 'drop'])} suser=corp\\\\${pick(users)} cs1Label=Rule cs1=${pick(['allow-web', 'block-tor', 'dns-out'])} cs2Label=App cs2=${pick(['ssl', 'web-browsing', 'dns', 'smtp'])} cn1Label=SessionID cn1=${rnd(9999999)} in=${rnd(1e6)} out=${rnd(1e6)}`,
        host,
        app: null,
        pid: null,
        facility: 16,
        severity: 6,
      };
    case 7:
      return {
        text: `<165>1 ${new Date(ms).toISOString()} ${host} billing ${pid} ID${rnd(100)} [exampleSDID@32473 iut="${rnd(9)}" eventSource="Application" eventID="${1000 + rnd(100)}"] payment ${pick(['processed', 'declined', 'refunded'])} order=${hex(12)} amount=${rnd(100000) / 100} currency=${pick(['EUR', 'USD', 'GBP'])} customer=${hex(8)}`,
        host,
        app: 'billing',
        pid,
        facility: 20,
        severity: 5,
      };
    default:
      return {
        text: `<30>${t} ${host} systemd[1]: ${pick(['Started', 'Stopped', 'Reloaded'])} ${pick(['nginx.service', 'docker.service', `session-${rnd(9999)}.scope`, 'apt-daily.timer'])}.`,
        host,
        app: 'systemd',
        pid: '1',
        facility: 3,
        severity: 6,
      };
  }
}

const encoders = new Map<string, RawEventEncoder>();

/** `count` encoded raw events (BufferRecords keyed by host), as an adapter would hand them over. */
export function syslogCorpus(count: number, startMs = Date.UTC(2024, 9, 11, 22, 0, 0)): BufferRecord[] {
  const out: BufferRecord[] = [];
  for (let i = 0; i < count; i++) {
    const ms = startMs + i * 3;
    const l = line(ms);
    let enc = encoders.get(l.host);
    if (enc === undefined) {
      enc = new RawEventEncoder(
        {
          adapter: 'syslog_udp',
          transport: 'udp',
          peerAddress: `10.9.${rnd(256)}.${rnd(256)}`,
          peerPort: 514,
          tls: null,
        },
        'default',
      );
      encoders.set(l.host, enc);
    }
    // The datagram as the socket hands it over: its own allocation, not a slice of Node's 8 KiB pool
    // (a short-lived pool slice next to each retained event would pin pool slabs and inflate memory).
    const payload = Buffer.allocUnsafeSlow(Buffer.byteLength(l.text));
    payload.write(l.text);
    const header: SyslogHeader = {
      format: l.text.startsWith('<165>1 ') ? 'rfc5424' : 'rfc3164',
      facility: l.facility,
      severity: l.severity,
      timestamp: new Date(ms).toISOString(),
      hostname: l.host,
      appName: l.app,
      procId: l.pid,
      msgId: null,
      structuredData: null,
      msgOffset: l.text.indexOf(': ') + 2,
    };
    out.push({
      key: l.host,
      value: enc.encode({
        receivedAtMs: ms,
        sourceType: 'syslog',
        syslog: header,
        marks: null,
        parseError: null,
        originalSize: payload.length,
        payload,
      }),
    });
  }
  return out;
}

export function corpusBytes(records: readonly BufferRecord[]): number {
  let n = 0;
  for (const r of records) n += r.key.length + r.value.length;
  return n;
}

/** Runs `fn` `reps` times after one warm-up and returns the median and best durations in ms. */
export async function timeIt(reps: number, fn: () => unknown): Promise<{ medianMs: number; bestMs: number }> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { medianMs: times[Math.floor(times.length / 2)]!, bestMs: times[0]! };
}
