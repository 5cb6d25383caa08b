import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from '@siem/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceSamples } from './device-corpus.js';
import { type ParsedSyslog, parseSyslog } from './parser.js';

/**
 * Differential test against real rsyslog (Debian's rsyslogd): the same corpus goes to our parser and
 * to an rsyslogd of our own (own config, own port, own pid file — never the system one), which writes
 * its parsed properties through a JSON template. Every field must match, or be explained by one of the
 * deliberate differences below (also listed in README.md). Each difference must actually occur, so the
 * list cannot go stale.
 */

interface Theirs {
  raw: string;
  facility: string;
  severity: string;
  timestamp: string;
  hostname: string;
  syslogtag: string;
  programname: string;
  procid: string;
  msgid: string;
  sd: string;
  msg: string;
  protocol: string;
}

type Field =
  | 'facility'
  | 'severity'
  | 'timestamp'
  | 'hostname'
  | 'appName'
  | 'procId'
  | 'msgId'
  | 'sd'
  | 'message';

interface Case {
  raw: string;
  ours: ParsedSyslog;
  theirs: Theirs;
}

/** The deliberate differences: each explains a mismatch of one field. */
const differences: {
  id: string;
  fields: Field[];
  why: string;
  explains: (c: Case, ours: string | null, theirs: string | null) => boolean;
}[] = [
  {
    id: 'no-pri',
    fields: ['facility', 'severity'],
    why: 'A message without PRI has facility and severity null; rsyslog substitutes user.notice (1/5).',
    explains: (c, ours) => ours === null && !c.raw.startsWith('<'),
  },
  {
    id: 'closest-year',
    fields: ['timestamp'],
    why:
      'A year-less RFC 3164 timestamp gets the year that puts it closest to the receive time; rsyslog ' +
      'uses the current year (except for December received in January).',
    explains: (_c, ours, theirs) => ours !== null && theirs !== null && ours.slice(4) === theirs.slice(4),
  },
  {
    id: 'device-timestamps',
    fields: ['timestamp'],
    why:
      'Cisco IOS (sequence number, `*`, milliseconds, zone name) and NX-OS (year first) timestamps are ' +
      'read; rsyslog does not recognise them and uses the receive time.',
    explains: (c, ours, theirs) =>
      ours !== null &&
      theirs !== null &&
      /^<\d+>(\d+: |: )/.test(c.raw) &&
      Math.abs(Date.parse(theirs) - Date.now()) < 120_000,
  },
  {
    id: 'no-timestamp',
    fields: ['timestamp'],
    why: 'A message without a timestamp has timestamp null (received_at is separate); rsyslog substitutes the receive time.',
    explains: (_c, ours, theirs) =>
      ours === null && theirs !== null && Math.abs(Date.parse(theirs) - Date.now()) < 120_000,
  },
  {
    id: 'no-hostname',
    fields: ['hostname'],
    why:
      'A message without HOSTNAME has hostname null (the peer address is in the raw event); rsyslog ' +
      "substitutes the sender's name or takes a word of the message.",
    explains: (_c, ours) => ours === null,
  },
  {
    id: 'tag-shape',
    fields: ['appName', 'message'],
    why:
      'Only a word shaped like a TAG (`name:`, `name[pid]:`, `name[pid]`, name starting with a letter or ' +
      'digit) is taken as TAG; rsyslog takes any first word (`CEF:`, `date=…`, `%ASA-6-302013:`, ' +
      '`1,2024/01/18`, a Snare header), cutting it off the message. Our message keeps it.',
    explains: (c, ours, theirs) => {
      if (c.ours.header.appName !== null) return false;
      if (ours === null || theirs === null) return ours === null && theirs !== null;
      // the message is rsyslog's TAG and MSG together (rsyslog's message may also have lost a timestamp)
      return `${c.theirs.syslogtag}${c.theirs.msg}`.endsWith(ours) || ours.endsWith(theirs.trimStart());
    },
  },
  {
    id: 'bom',
    fields: ['message'],
    why: 'The UTF-8 BOM that RFC 5424 allows before MSG marks the encoding and is not part of the message; rsyslog keeps it.',
    explains: (_c, ours, theirs) => theirs !== null && theirs === `\u{feff}${ours}`,
  },
  {
    id: 'programname-slash',
    fields: ['appName'],
    why: "appName is the TAG up to `[`; rsyslog's programname also stops at `/` (postfix/smtpd → postfix).",
    explains: (_c, ours, theirs) => ours !== null && theirs !== null && ours.startsWith(`${theirs}/`),
  },
];

/** rsyslog's values in our vocabulary: `-` and empty mean absent, numbers are numbers. */
function theirField(t: Theirs, f: Field): string | null {
  const nil = (v: string) => (v === '-' || v === '' ? null : v);
  switch (f) {
    case 'facility':
      return t.facility;
    case 'severity':
      return t.severity;
    case 'timestamp':
      return t.timestamp.replace(/\+00:00$/, 'Z');
    case 'hostname':
      return nil(t.hostname);
    case 'appName':
      return nil(t.programname);
    case 'procId':
      return nil(t.procid);
    case 'msgId':
      return nil(t.msgid);
    case 'sd':
      return nil(t.sd);
    case 'message':
      // rsyslog keeps the space after an RFC 3164 TAG in MSG; ours starts after it
      return t.protocol === '0' && t.msg.startsWith(' ') ? t.msg.slice(1) : t.msg;
  }
}

function escapeSd(v: string): string {
  return v.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll(']', '\\]');
}

function ourField(p: ParsedSyslog, f: Field): string | null {
  const h = p.header;
  switch (f) {
    case 'facility':
    case 'severity':
      return h[f] === null ? null : String(h[f]);
    case 'timestamp':
      return h.timestamp?.replace(/\+00:00$/, 'Z') ?? null; // rsyslog writes UTC as +00:00, we as Z or as sent
    case 'sd':
      return h.structuredData === null
        ? null
        : Object.entries(h.structuredData)
            .map(
              ([id, ps]) =>
                `[${id}${Object.entries(ps)
                  .map(([k, v]) => ` ${k}="${escapeSd(v)}"`)
                  .join('')}]`,
            )
            .join('');
    case 'message':
      return p.message;
    default:
      return h[f];
  }
}

const BOM = '\u{feff}';
const extraCorpus = [
  `<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - ${BOM}'su root' failed for lonvick on /dev/pts/8`,
  "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
  '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]',
  "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
  '<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!',
  '<13>1 2024-01-18T11:07:53Z host app 12 ID [x@1 q="say \\"hi\\"" p="C:\\\\dir" b="a\\]b"] escapes',
  '<13>1 - - - - - -',
  '<191>Jan 18 11:07:53 host app[1]: highest PRI',
  '<13>Jan 18 11:07:53 host app: tag without pid',
  '<13>Jan 18 11:07:53 sshd[42]: no hostname',
];

describe('differential test against rsyslogd', () => {
  let dir: string;
  let rsyslogd: ChildProcess | null = null;
  let cases: Case[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'siem-rsyslog-diff-'));
    const conf = join(dir, 'rsyslog.conf');
    writeFileSync(
      conf,
      `global(workDirectory="${dir}" parser.escapeControlCharactersOnReceive="off" maxMessageSize="64k")
module(load="imtcp")
input(type="imtcp" port="0" listenPortFileName="${dir}/port" ruleset="diff")
template(name="diffjson" type="list" option.jsonf="on") {
  property(outname="raw" name="rawmsg" format="jsonf")
  property(outname="facility" name="syslogfacility" format="jsonf")
  property(outname="severity" name="syslogseverity" format="jsonf")
  property(outname="timestamp" name="timereported" dateFormat="rfc3339" format="jsonf")
  property(outname="hostname" name="hostname" format="jsonf")
  property(outname="syslogtag" name="syslogtag" format="jsonf")
  property(outname="programname" name="programname" format="jsonf")
  property(outname="procid" name="procid" format="jsonf")
  property(outname="msgid" name="msgid" format="jsonf")
  property(outname="sd" name="structured-data" format="jsonf")
  property(outname="msg" name="msg" format="jsonf")
  property(outname="protocol" name="protocol-version" format="jsonf")
}
ruleset(name="diff") { action(type="omfile" file="${dir}/out.json" template="diffjson") }
`,
    );
    rsyslogd = spawn('rsyslogd', ['-n', '-f', conf, '-i', join(dir, 'rsyslogd.pid')], {
      env: { ...process.env, TZ: 'UTC' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    rsyslogd.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    await until(
      () => existsSync(join(dir, 'port')) && readFileSync(join(dir, 'port'), 'utf8').trim() !== '',
      20_000,
      `rsyslogd to listen (${stderr})`,
    );
    const port = Number(readFileSync(join(dir, 'port'), 'utf8'));
    const corpus = [...deviceSamples.map((s) => s.raw), ...extraCorpus];
    const sock = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.end(`${corpus.join('\n')}\n`, () => resolve());
    });
    const out = join(dir, 'out.json');
    const lines = () => (existsSync(out) ? readFileSync(out, 'utf8').trim().split('\n') : []);
    await until(() => lines().length >= corpus.length, 20_000, 'rsyslogd to write every message');
    const theirs = lines().map((l) => JSON.parse(l) as Theirs);
    const now = Date.now();
    cases = corpus.map((raw, i) => ({
      raw,
      ours: parseSyslog(Buffer.from(raw, 'utf8'), { receivedAtMs: now }),
      theirs: theirs[i]!,
    }));
  }, 60_000);

  afterAll(async () => {
    if (rsyslogd !== null && rsyslogd.exitCode === null) {
      const exited = new Promise((r) => rsyslogd!.once('exit', r));
      rsyslogd.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('rsyslogd received the corpus in order', () => {
    for (const c of cases) expect(c.theirs.raw).toBe(c.raw);
  });

  it('every field matches rsyslog or is a documented, deliberate difference', () => {
    const fields: Field[] = [
      'facility',
      'severity',
      'timestamp',
      'hostname',
      'appName',
      'procId',
      'msgId',
      'sd',
      'message',
    ];
    const used = new Map<string, number>();
    const unexplained: string[] = [];
    let matched = 0;
    let compared = 0;
    for (const c of cases) {
      if (c.ours.parseError !== null) continue; // compared in the next test
      for (const f of fields) {
        const ours = ourField(c.ours, f);
        const theirs = theirField(c.theirs, f);
        compared++;
        if (ours === theirs) {
          matched++;
          continue;
        }
        const d = differences.find((x) => x.fields.includes(f) && x.explains(c, ours, theirs));
        if (d === undefined)
          unexplained.push(
            `${f} of ${JSON.stringify(c.raw.slice(0, 60))}: ours ${JSON.stringify(ours)}, rsyslog ${JSON.stringify(theirs)}`,
          );
        else used.set(d.id, (used.get(d.id) ?? 0) + 1);
      }
    }
    expect(unexplained).toEqual([]);
    // every documented difference shows up in the corpus (so the list is not stale); whether the closest
    // year differs from rsyslog's current year depends on today's date, so that one may not show
    expect([...used.keys(), 'closest-year'].filter((v, i, a) => a.indexOf(v) === i).sort()).toEqual(
      differences.map((d) => d.id).sort(),
    );
    // and most fields simply agree
    expect(matched / compared).toBeGreaterThan(0.8);
    process.stdout.write(
      `rsyslog differential: ${cases.length} messages, ${compared} fields, ${matched} equal, ` +
        `${[...used].map(([k, v]) => `${k}=${v}`).join(' ')}\n`,
    );
  });

  it('RFC 5424 structured data, MSGID and PROCID agree exactly', () => {
    const r5424 = cases.filter((c) => c.ours.header.format === 'rfc5424' && c.ours.parseError === null);
    expect(r5424.length).toBeGreaterThanOrEqual(8);
    for (const c of r5424) {
      expect(ourField(c.ours, 'sd'), c.raw).toBe(theirField(c.theirs, 'sd'));
      expect(ourField(c.ours, 'msgId'), c.raw).toBe(theirField(c.theirs, 'msgId'));
      expect(ourField(c.ours, 'procId'), c.raw).toBe(theirField(c.theirs, 'procId'));
      if (c.ours.header.timestamp !== null) {
        expect(ourField(c.ours, 'timestamp'), c.raw).toBe(theirField(c.theirs, 'timestamp'));
      }
    }
  });
});
