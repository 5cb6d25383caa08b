import { spawnSync } from 'node:child_process';
import { nodeArgsFor } from '@siem/core';
import { describe, expect, it } from 'vitest';

const mainModule = new URL('../main.ts', import.meta.url);

function siemParse(args: string[], input: string | Buffer) {
  return spawnSync(process.execPath, [...nodeArgsFor(mainModule), 'parse', ...args], {
    input,
    encoding: 'utf8',
    timeout: 60_000,
  });
}

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
});
