import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeArgsFor } from '@siem/core';
import { parseSyslog, syslogJsonObject } from '@siem/syslog';
import { describe, expect, it } from 'vitest';

const mainModule = new URL('../main.ts', import.meta.url);

function siemParse(args: string[], input: string | Buffer) {
  return spawnSync(process.execPath, [...nodeArgsFor(mainModule), 'parse', ...args], {
    input,
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 256 * 1024 * 1024,
  });
}

const RECEIVED = '2024-01-20T00:00:00Z';

/** What the object path writes for one line (the reference the fast path must match). */
function expectedLine(line: Buffer, cutFromBytes: number | null = null): string {
  const p = parseSyslog(line, { receivedAtMs: Date.parse(RECEIVED), defaultTimezone: 'UTC', format: 'auto' });
  return JSON.stringify(syslogJsonObject(p, cutFromBytes));
}

/** Lines of every kind the parser knows, with bytes that need escaping and some that are not UTF-8. */
const kinds: Buffer[] = [
  '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="App"] An application event',
  "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
  '<13>Jan 18 11:07:53 fw CEF:0|Security|threatmanager|1.0|100|worm "stopped"|10|src=10.0.0.1 dst=2.1.2.2',
  '<13>Jan 18 11:07:53 sw1 LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5',
  '<13>Jan 18 11:07:53 h app[7]: tab\there "quoted" back\\slash \u0001 grüße 😀',
  '',
  'no header at all',
].map((l) => Buffer.from(l, 'utf8'));
kinds.push(Buffer.from([...Buffer.from('<13>Jan 18 11:07:53 h app: caf'), 0xe9, 0x01, 0x7f]));

const KEYS = [
  'facility',
  'severity',
  'timestamp',
  'hostname',
  'appName',
  'procId',
  'msgId',
  'structuredData',
  'message',
  'parseError',
];

describe('siem parse', () => {
  it('writes one JSON object per input line, in order, with the contract keys (null where absent)', () => {
    const input = [
      '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3"] An application event',
      "<34>Oct 11 22:14:15 mymachine su: 'su root' failed",
      '',
      'no header at all\r',
      '<13>Jan 18 11:07:53 fw CEF:0|Security|threatmanager|1.0|100|worm stopped|10|src=10.0.0.1 dst=2.1.2.2',
      '<13>Jan 18 11:07:53 sw1 LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5',
    ].join('\n');
    const r = siemParse(['--received-at', '2024-01-20T00:00:00Z'], input);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(6);
    expect(Object.keys(lines[0])).toEqual(KEYS);
    expect(lines[0]).toEqual({
      facility: 20,
      severity: 5,
      timestamp: '2003-10-11T22:14:15.003Z',
      hostname: 'mymachine.example.com',
      appName: 'evntslog',
      procId: null,
      msgId: 'ID47',
      structuredData: { 'exampleSDID@32473': { iut: '3' } },
      message: 'An application event',
      parseError: null,
    });
    expect(lines[1]).toMatchObject({
      timestamp: '2023-10-11T22:14:15Z',
      hostname: 'mymachine',
      appName: 'su',
    });
    expect(lines[2]).toMatchObject({ message: '', parseError: 'empty' });
    expect(lines[3]).toMatchObject({ facility: null, message: 'no header at all', parseError: 'no_header' });
    expect(Object.keys(lines[4])).toEqual([...KEYS, 'cef']);
    expect(lines[4].cef).toMatchObject({
      deviceVendor: 'Security',
      extensions: { src: '10.0.0.1', dst: '2.1.2.2' },
    });
    expect(Object.keys(lines[5])).toEqual([...KEYS, 'leef']);
    expect(lines[5].leef).toMatchObject({
      vendor: 'Lancope',
      delimiter: '^',
      attributes: { src: '10.0.1.8' },
    });
  });

  it('applies --timezone to timestamps without offset and --format', () => {
    const r = siemParse(
      ['--timezone', 'Europe/Berlin', '--received-at', '2024-07-20T00:00:00Z'],
      '<13>Jul 18 11:07:53 h a: x\n',
    );
    expect(JSON.parse(r.stdout).timestamp).toBe('2024-07-18T11:07:53+02:00');
    const f = siemParse(['--format', 'rfc5424'], '<13>Jul 18 11:07:53 h a: x\n');
    expect(JSON.parse(f.stdout).parseError).toBe('not_rfc5424');
  });

  it('keeps invalid UTF-8 as replacement characters and handles a last line without newline', () => {
    const r = siemParse(
      [],
      Buffer.concat([Buffer.from('<13>Jan 18 11:07:53 h a: caf'), Buffer.from([0xe9])]),
    );
    expect(JSON.parse(r.stdout).message).toBe('caf\ufffd');
  });

  it('rejects an unknown zone or format with exit code 2', () => {
    expect(siemParse(['--timezone', 'Mars/Olympus'], '').status).toBe(2);
    expect(siemParse(['--format', 'rfc9999'], '').status).toBe(2);
  });

  it('writes what the object path writes, for input far over one read (lines across reads, CRLF), from a pipe or a file', () => {
    const lines: Buffer[] = [];
    for (let i = 0; lines.length < 50_000; i++)
      lines.push(Buffer.concat([kinds[i % kinds.length]!, Buffer.from(` #${i}`)]));
    const input = Buffer.concat(lines.flatMap((l, i) => [l, Buffer.from(i % 3 === 0 ? '\r\n' : '\n')]));
    expect(input.length).toBeGreaterThan(3 * 1024 * 1024);
    const expected = `${lines.map((l) => expectedLine(l)).join('\n')}\n`;
    const piped = siemParse(['--received-at', RECEIVED], input);
    expect(piped.stderr).toBe('');
    expect(piped.status).toBe(0);
    expect(piped.stdout).toBe(expected);
    // stdin a regular file: the same bytes
    const dir = mkdtempSync(join(tmpdir(), 'siem-parse-'));
    try {
      const file = join(dir, 'in.log');
      writeFileSync(file, input);
      const fd = openSync(file, 'r');
      try {
        const fromFile = spawnSync(
          process.execPath,
          [...nodeArgsFor(mainModule), 'parse', '--received-at', RECEIVED],
          { stdio: [fd, 'pipe', 'pipe'], encoding: 'utf8', timeout: 60_000, maxBuffer: 256 * 1024 * 1024 },
        );
        expect(fromFile.status).toBe(0);
        expect(fromFile.stdout).toBe(expected);
      } finally {
        closeSync(fd);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('cuts a line over --max-line-bytes (never inside a character), still parses it, marks it and counts it', () => {
    const head = '<13>Jan 18 11:07:53 h app: ';
    const huge = Buffer.from(`${head}${'x'.repeat(200_000)}`);
    const euro = Buffer.from(`${head}${'€'.repeat(10)}`); // 3 bytes each: a cut at 40 falls inside one
    const input = Buffer.concat([huge, Buffer.from('\n'), euro, Buffer.from('\nshort\n')]);
    const byDefault = siemParse(['--received-at', RECEIVED], input);
    expect(byDefault.status).toBe(0);
    const out = byDefault.stdout.trimEnd().split('\n');
    expect(out[0]).toBe(expectedLine(huge.subarray(0, 65_536), huge.length));
    expect(JSON.parse(out[0]!)).toMatchObject({ appName: 'app', truncated: true, originalBytes: 200_027 });
    expect(out[1]).toBe(expectedLine(euro));
    expect(byDefault.stderr).toBe(
      'siem parse: 1 line(s) longer than --max-line-bytes 65536 were cut (marked "truncated":true)\n',
    );
    const small = siemParse(['--received-at', RECEIVED, '--max-line-bytes', '40'], input);
    const cut = small.stdout.trimEnd().split('\n');
    expect(cut[1]).toBe(expectedLine(euro.subarray(0, 39), euro.length));
    expect(JSON.parse(cut[1]!).message).toBe('€€€€');
    expect(cut[2]).toBe(expectedLine(Buffer.from('short')));
    expect(small.stderr).toContain('2 line(s) longer than --max-line-bytes 40');
  }, 60_000);

  it('bad arguments: one line on stderr and exit code 2; --help names the line limit', () => {
    for (const args of [
      ['--max-line-bytes', '0'],
      ['--max-line-bytes', 'lots'],
      ['--max-line-bytes', '99999999'],
      ['--nope'],
    ]) {
      const r = siemParse(args, '');
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.trimEnd().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stdout).toBe('');
    }
    const help = siemParse(['--help'], '');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--max-line-bytes');
    expect(help.stdout).toContain('"truncated":true');
  }, 60_000);

  it('stops quietly when its reader goes away (siem parse | head)', async () => {
    const child = spawn(process.execPath, [...nodeArgsFor(mainModule), 'parse'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.stdin.on('error', () => {}); // it may stop reading before all of the input is written
    child.stdin.end(Buffer.from(`${kinds[1]!.toString()}\n`.repeat(200_000)));
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.stdout.destroy();
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
  }, 60_000);
});
