import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { decodeRawEvent, RawEventEncoder } from '@siem/core';
import { normalize } from '@siem/normalize';
import { encodeSyslogMessage } from '@siem/syslog';
import { describe, expect, it } from 'vitest';
import { parseLoadArgs, UsageError } from './args.js';
import { waitForStored } from './far-side.js';
import { evaluate, type LocustEntry, percentile, summarize } from './summary.js';

const root = resolve(import.meta.dirname, '../../..');

describe('parseLoadArgs', () => {
  it('fills the scenario defaults and the default intake port', () => {
    const o = parseLoadArgs(['syslog-tcp']);
    expect(o).toMatchObject({
      scenarioName: 'syslog-tcp',
      users: 4,
      rate: 10_000,
      durationSeconds: 30,
      port: 5514,
    });
    expect(o).toMatchObject({ apiPort: 8080, workers: 1, batch: 500, statsFile: null, runId: null });
    expect(parseLoadArgs(['cloud-http', '--api-port', '18080']).port).toBe(18080);
  });

  it('takes the options in both spellings', () => {
    const o = parseLoadArgs([
      'lumberjack',
      '--users=8',
      '--rate',
      '0',
      '--duration',
      '2m',
      '--port',
      '15515',
    ]);
    expect(o).toMatchObject({ users: 8, rate: 0, durationSeconds: 120, port: 15515 });
    expect(parseLoadArgs(['query'], { SIEM_LOAD_API_KEY: 'k' }).apiKey).toBe('k');
  });

  it.each([
    [[], /name a scenario/],
    [['nope'], /unknown scenario nope: one of syslog-tcp/],
    [['syslog-tcp', '--users', 'x'], /--users needs a whole number/],
    [['syslog-tcp', '--users', '0'], /--users must be between 1/],
    [['syslog-tcp', '--duration', '5 min'], /--duration must be like 30s/],
    [['syslog-tcp', '--port', '70000'], /--port must be between 1 and 65535/],
    [['syslog-tcp', '--rate', '-1'], /--rate needs events\/s/],
    [['syslog-tcp', '--verbose'], /unknown option --verbose/],
    [['syslog-tcp', '--stats', 'x.json'], /--stats and --run-id go together/],
    [['syslog-tcp', '--stats', 'x.json', '--run-id', 'A B'], /--run-id must be/],
    [['syslog-tcp', 'tail'], /one scenario only/],
  ])('refuses %j with one clear line', (argv, message) => {
    expect(() => parseLoadArgs(argv)).toThrow(UsageError);
    expect(() => parseLoadArgs(argv)).toThrow(message);
  });
});

const entry = (over: Partial<LocustEntry>): LocustEntry => ({
  name: 'syslog-tcp lf batch',
  method: 'SYSLOG',
  num_requests: 0,
  num_failures: 0,
  total_content_length: 0,
  response_times: {},
  ...over,
});

describe('summarize and evaluate', () => {
  const o = parseLoadArgs(['syslog-tcp', '--duration', '10s', '--rate', '5000', '--batch', '500']);
  const ok = entry({ num_requests: 100, response_times: { '1': 90, '40': 8, '900': 2 } });

  it('counts batch events, offered against acknowledged, and the latency percentiles', () => {
    const s = summarize([ok], o, 50_000);
    expect(s.events).toEqual({
      offered: 50_000,
      acknowledged: 50_000,
      stored: 50_000,
      offeredPerSecond: 5000,
      acknowledgedPerSecond: 5000,
    });
    expect(s.latencyMs).toEqual({ p50: 1, p95: 40, p99: 900, max: 900 });
    expect(evaluate(s, o).every((r) => r.pass)).toBe(true);
  });

  it('fails an acknowledged event that never arrived, and more stored than offered', () => {
    const lost = evaluate(summarize([ok], o, 49_999), o);
    expect(lost.filter((r) => !r.pass).map((r) => r.name)).toEqual(['stored / acknowledged']);
    const extra = evaluate(summarize([ok], o, 50_500), o);
    expect(extra.filter((r) => !r.pass).map((r) => r.name)).toEqual(['stored - offered']);
  });

  it('fails errors, slow requests, a missed rate and an unknown far side', () => {
    const bad = entry({ num_requests: 80, num_failures: 1, response_times: { '1': 70, '3000': 10 } });
    const failed = evaluate(summarize([bad], o, null), o)
      .filter((r) => !r.pass)
      .map((r) => r.name);
    expect(failed).toEqual([
      'error ratio',
      'p95 latency ms',
      'p99 latency ms',
      'acknowledged / offered',
      'acknowledged events/s',
      'stored / acknowledged',
      'stored - offered',
    ]);
  });

  it('checks that every stored event reached each tail client or was reported dropped', () => {
    const t = parseLoadArgs(['tail', '--duration', '10s', '--rate', '5000', '--tail-clients', '2']);
    const tail = (events: number, dropped: number) => [
      ok,
      entry({ name: 'tail events', method: 'WS', num_requests: 10, total_content_length: events }),
      entry({ name: 'tail dropped', method: 'WS', num_requests: 1, total_content_length: dropped }),
    ];
    const pass = evaluate(summarize(tail(90_000, 10_000), t, 50_000), t);
    expect(pass.every((r) => r.pass)).toBe(true);
    const miss = evaluate(summarize(tail(40_000, 0), t, 50_000), t);
    expect(miss.filter((r) => !r.pass).map((r) => r.name)).toEqual([
      'tail (received + dropped) / stored per client',
    ]);
  });

  it('reads the smallest recorded time holding the share of requests', () => {
    expect(percentile({}, 0.99)).toBe(0);
    expect(percentile({ '5': 1, '100': 1 }, 0.5)).toBe(5);
    expect(percentile({ '5': 1, '100': 1 }, 0.51)).toBe(100);
  });
});

describe('waitForStored', () => {
  it('waits for the expected count to hold still, retrying a busy database', async () => {
    const answers: (number | Error)[] = [10, new Error('503'), 90, 100, 100];
    const count = async () => {
      const a = answers.shift() ?? 100;
      if (a instanceof Error) throw a;
      return a;
    };
    await expect(waitForStored(count, 100, 5000, 1)).resolves.toBe(100);
    expect(answers).toEqual([]);
  });

  it('gives the last count when the settle time runs out, and an error when none answered', async () => {
    await expect(waitForStored(async () => 7, 100, 20, 5)).resolves.toBe(7);
    await expect(waitForStored(() => Promise.reject(new Error('503 busy')), 1, 20, 5)).rejects.toThrow(
      /503 busy/,
    );
  });
});

describe('payload marking (load-tests/locust/siemload/payloads.py)', () => {
  it('stamps the run marker where the normalizer takes the host from', () => {
    const devices = JSON.parse(readFileSync(join(root, 'libs/syslog/src/fixtures/devices.json'), 'utf8')) as {
      samples: { raw: string }[];
    };
    const samples = devices.samples.filter((s) => !s.raw.includes('\n'));
    const extra = [
      '<134>Dec  3 15:13:55 cp-gw-01 CEF:0|Check Point|VPN-1 & FireWall-1|R81.20|Drop|Drop|5|act=Drop src=203.0.113.12 dvchost=cp-gw-01',
      '<190>date=2026-12-03 time=15:14:14 devname="FGT-EDGE-01" devid="FG100F" logid="0000000013" type="traffic"',
    ];
    const frames = [...samples.map((s) => s.raw), ...extra];
    // stdlib only: the marking runs with the system python3, no Locust needed
    const script = [
      'import json, sys',
      'sys.path.insert(0, sys.argv[1])',
      'from siemload.payloads import mark_syslog',
      'out = []',
      'for f in json.load(sys.stdin):',
      '    m = mark_syslog(f.encode(), b"lt-test-0")',
      '    out.append(None if m is None else m.decode())',
      'print(json.dumps(out))',
    ].join('\n');
    const r = spawnSync('python3', ['-c', script, join(root, 'load-tests/locust')], {
      input: JSON.stringify(frames),
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    const marked = JSON.parse(r.stdout) as (string | null)[];
    const encoder = new RawEventEncoder(
      { adapter: 'syslog_tcp', transport: 'tcp', peerAddress: '127.0.0.1', peerPort: 40000, tls: null },
      'default',
    );
    const hosts = marked.map((m) =>
      m === null
        ? null
        : normalize(decodeRawEvent(encodeSyslogMessage(encoder, Buffer.from(m), Date.now()).value)).hostName,
    );
    // every frame the marking took reads back with the marker as its host
    expect(hosts).toEqual(marked.map((m) => (m === null ? null : 'lt-test-0')));
    // left out: only the Cisco IOS, NX-OS and ASA lines that carry no host at all
    const left = frames.filter((_, i) => marked[i] === null);
    expect(left.length).toBeLessThanOrEqual(4);
    for (const f of left) expect(f).toMatch(/%[A-Z]+-\d-[A-Z0-9_]+:/);
    expect(hosts.slice(-2)).toEqual(['lt-test-0', 'lt-test-0']);
  });
});
