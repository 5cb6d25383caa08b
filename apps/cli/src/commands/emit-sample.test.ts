import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { capture } from '../test-support.js';
import { emitSampleCommand, progressLine } from './emit-sample.js';

const dir = mkdtempSync(join(tmpdir(), 'siem-emit-sample-'));

afterEach(() => {
  vi.restoreAllMocks();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('siem emit-sample', () => {
  it.each([
    [['--protocol', 'smtp'], /--protocol smtp: one of udp, tcp, tls, lumberjack, ndjson, http/],
    [['--to', 'localhost'], /--to localhost: expected HOST:PORT/],
    [['--to', '127.0.0.1:70000'], /expected HOST:PORT/],
    [['--rate', 'fast'], /--rate fast: expected events per second/],
    [['--duration', '3 weeks'], /--duration 3 weeks: expected a duration/],
    [['--malformed', '2'], /--malformed 2: expected a share from 0 to 1/],
    [['--seed', '-1'], /--seed/],
    [['--start', '2026-01-01T00:00:00Z'], /--start needs --seed/],
    [['--kinds', 'win_4624'], /win_4624 is not carried by tcp/],
    [['--kinds', 'nope'], /unknown kind nope/],
    [['--framing', 'octet-counted', '--protocol', 'udp'], /--framing applies to tcp and tls only/],
    [['--ca', '/nonexistent/ca.pem', '--protocol', 'tls'], /--ca \/nonexistent\/ca.pem: ENOENT/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['1', '2'], /one COUNT at most/],
    [['0'], /expected a whole number/],
  ])('bad arguments %j: one line on stderr, exit 2', async (argv, message) => {
    const io = capture();
    expect(await emitSampleCommand.run(argv)).toBe(2);
    expect(io.err()).toMatch(message);
    expect(io.err().trimEnd().split('\n')).toHaveLength(1);
    expect(io.out()).toBe('');
  });

  it('a receiver that is not there: one line, exit 1', async () => {
    const io = capture();
    // port 9 of 127.0.0.1 (discard) is not served on a test machine: the connection is refused
    expect(await emitSampleCommand.run(['5', '--to', '127.0.0.1:9'])).toBe(1);
    expect(io.err()).toMatch(/cannot connect to TCP at 127\.0\.0\.1:9/);
  });

  it('--out with --seed and --start: the same file twice; --json summary on stdout', async () => {
    const io = capture();
    const args = (f: string) => [
      '300',
      '--protocol',
      'lumberjack',
      '--seed',
      '9',
      '--start',
      '2026-02-01T08:00:00Z',
      '--out',
      f,
      '--json',
    ];
    expect(await emitSampleCommand.run(args(join(dir, 'a.ndjson')))).toBe(0);
    expect(await emitSampleCommand.run(args(join(dir, 'b.ndjson')))).toBe(0);
    const a = readFileSync(join(dir, 'a.ndjson'), 'utf8');
    expect(readFileSync(join(dir, 'b.ndjson'), 'utf8')).toBe(a);
    expect(a.trimEnd().split('\n')).toHaveLength(300);
    expect(JSON.parse(a.split('\n')[0]!)['@timestamp']).toBe('2026-02-01T08:00:00.000Z');
    const summaries = io
      .out()
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(summaries[0]).toMatchObject({ protocol: 'lumberjack', sent: 300, seed: 9, error: null });
    expect(Object.keys(summaries[0].kinds)).toContain('win_4625');
  });

  it('the progress line: a bar for a known end, the count and rate otherwise', () => {
    expect(
      progressLine({ elapsedMs: 2000, sent: 500, acknowledged: 400, count: 1000, durationMs: null }, 10),
    ).toBe('[#####.....]  50% 500 sent, 400 acknowledged, 250 events/s, 2.0 s');
    expect(
      progressLine({ elapsedMs: 1000, sent: 7, acknowledged: null, count: null, durationMs: null }),
    ).toBe('7 sent, 7 events/s, 1.0 s');
  });
});
