import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import { diurnalFactor, EventClock } from './clock.js';
import { generatorFor } from './emit.js';
import { EventGenerator } from './generator.js';
import { allKinds, kindsOf, selectKinds } from './kinds/catalog.js';
import { buildPopulation } from './population.js';
import { Prng } from './prng.js';
import type { Protocol } from './protocols.js';

const START = Date.parse('2026-03-05T14:00:00Z');

function texts(
  protocol: Protocol,
  seed: number,
  n: number,
  extra: { malformed?: number; startMs?: number } = {},
): string[] {
  const g = generatorFor(
    {
      protocol,
      kinds: null,
      seed,
      startMs: extra.startMs ?? START,
      rate: null,
      diurnal: false,
      malformed: extra.malformed ?? 0,
      tenant: null,
    },
    seed,
  );
  return Array.from({ length: n }, () => g.next().text);
}

describe('Prng', () => {
  it('gives the same sequence for the same seed and another for another seed', () => {
    const a = new Prng(42);
    const b = new Prng(42);
    const c = new Prng(43);
    const sa = Array.from({ length: 100 }, () => a.u32());
    expect(Array.from({ length: 100 }, () => b.u32())).toEqual(sa);
    expect(Array.from({ length: 100 }, () => c.u32())).not.toEqual(sa);
  });

  it('is uniform enough: int(10) fills every bucket near a tenth', () => {
    const r = new Prng(1);
    const buckets = new Array(10).fill(0);
    for (let i = 0; i < 100_000; i++) buckets[r.int(10)]++;
    for (const b of buckets) expect(Math.abs(b - 10_000)).toBeLessThan(500);
  });
});

describe('EventGenerator', () => {
  it('same seed and start: byte-identical output on every protocol', () => {
    for (const p of ['tcp', 'lumberjack', 'http'] as const) {
      expect(texts(p, 99, 2000)).toEqual(texts(p, 99, 2000));
      expect(texts(p, 100, 200)).not.toEqual(texts(p, 99, 200));
    }
  });

  it('another start shifts only the times', () => {
    const a = texts('tcp', 5, 50);
    const b = texts('tcp', 5, 50, { startMs: START + 3_600_000 });
    expect(b).not.toEqual(a);
    const strip = (s: string) =>
      s.replace(
        /\d{4}-\d\d-\d\d|\d\d:\d\d:\d\d|\d{4}\/\d\d\/\d\d|eventtime=\d+|rt=\d+|[A-Z][a-z]{2} [ \d]\d/g,
        '',
      );
    expect(b.map(strip)).toEqual(a.map(strip));
  });

  it('simulated clock: times advance from the start at the nominal rate', () => {
    const clock = new EventClock({ startMs: START, eventsPerSecond: 100, diurnal: false });
    const times = Array.from({ length: 201 }, () => clock.next());
    expect(times[0]).toBe(START);
    expect(times[200]).toBe(START + 2000);
  });

  it('diurnal curve: busy afternoon, quiet night, and the simulated clock spaces night events wider', () => {
    expect(diurnalFactor(Date.parse('2026-03-05T16:00:00Z'))).toBeCloseTo(1, 5);
    expect(diurnalFactor(Date.parse('2026-03-05T04:00:00Z'))).toBeCloseTo(0.2, 5);
    const night = new EventClock({
      startMs: Date.parse('2026-03-05T04:00:00Z'),
      eventsPerSecond: 100,
      diurnal: true,
    });
    const day = new EventClock({
      startMs: Date.parse('2026-03-05T16:00:00Z'),
      eventsPerSecond: 100,
      diurnal: true,
    });
    let n = 0;
    let d = 0;
    for (let i = 0; i < 1000; i++) {
      n = night.next();
      d = day.next();
    }
    expect(n - Date.parse('2026-03-05T04:00:00Z')).toBeGreaterThan(
      4 * (d - Date.parse('2026-03-05T16:00:00Z')),
    );
  });

  it('kinds follow their weights; brute-force bursts come from a few attacker addresses', () => {
    const g = generatorFor(
      {
        protocol: 'tcp',
        kinds: null,
        seed: 3,
        startMs: START,
        rate: null,
        diurnal: false,
        malformed: 0,
        tenant: null,
      },
      3,
    );
    const counts = new Map<string, number>();
    const failedFrom = new Map<string, number>();
    const n = 200_000;
    for (let i = 0; i < n; i++) {
      const e = g.next();
      const name = g.kinds[e.kind]!.name;
      counts.set(name, (counts.get(name) ?? 0) + 1);
      if (name === 'sshd_failed' || name === 'sshd_invalid_user') {
        const from = / from (\S+) port /.exec(e.text)![1]!;
        failedFrom.set(from, (failedFrom.get(from) ?? 0) + 1);
      }
    }
    const kinds = kindsOf('syslog');
    const total = kinds.reduce((s, k) => s + k.weight, 0);
    // Ordinary traffic follows the weights; bursts add failed logons on top.
    for (const k of kinds.filter((x) => !x.attack)) {
      expect(counts.get(k.name)! / n).toBeGreaterThan((k.weight / total) * 0.8);
      expect(counts.get(k.name)! / n).toBeLessThan((k.weight / total) * 1.05);
    }
    const attackers = new Set(g.population.attackers);
    const top = [...failedFrom.entries()].sort((a, b) => b[1] - a[1]).slice(0, attackers.size);
    for (const [addr] of top) expect(attackers.has(addr)).toBe(true);
    const fromAttackers = top.reduce((s, [, c]) => s + c, 0);
    const allFailed = [...failedFrom.values()].reduce((s, c) => s + c, 0);
    expect(fromAttackers / allFailed).toBeGreaterThan(0.6);
  });

  it('every address is from the documentation ranges', () => {
    const doc = /^(192\.0\.2\.|198\.51\.100\.|203\.0\.113\.|2001:db8:)/;
    const pop = buildPopulation(11, 'acme');
    for (const a of [...pop.clients, ...pop.servers, ...pop.internet, ...pop.attackers]) {
      expect(isIP(a), a).not.toBe(0);
      expect(a).toMatch(doc);
    }
    for (const p of ['tcp', 'lumberjack', 'http'] as const) {
      for (const t of texts(p, 11, 3000)) {
        for (const m of t.matchAll(/\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b/g)) {
          if (m[0] === '0.0.0.0') continue;
          expect(m[0]).toMatch(doc);
        }
      }
    }
    expect(pop.domain).toBe('acme.example');
  });

  it('malformed share: about the requested share, and each differs from a well-formed event', () => {
    const g = generatorFor(
      {
        protocol: 'lumberjack',
        kinds: null,
        seed: 8,
        startMs: START,
        rate: null,
        diurnal: false,
        malformed: 0.05,
        tenant: null,
      },
      8,
    );
    let bad = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const e = g.next();
      if (e.malformed) {
        bad++;
        expect(() => JSON.parse(e.text)).toThrow();
      } else JSON.parse(e.text);
      expect(e.text).not.toContain('\n');
    }
    expect(bad / n).toBeGreaterThan(0.04);
    expect(bad / n).toBeLessThan(0.06);
  });

  it('selectKinds: refuses unknown kinds and kinds of another protocol', () => {
    const two = selectKinds('syslog', ['sshd_failed', 'panos']);
    expect(typeof two === 'string' ? two : two.map((k) => k.name)).toEqual(['sshd_failed', 'panos']);
    expect(selectKinds('syslog', ['nope'])).toMatch(/unknown kind nope/);
    expect(selectKinds('syslog', ['win_4624'])).toMatch(/windows event/);
    expect(allKinds.every((k) => k.channel !== 'cloud' || k.cloudType !== undefined)).toBe(true);
  });

  it('a generator of one kind makes only that kind', () => {
    const only = kindsOf('windows').filter((k) => k.name === 'win_4740');
    const g = new EventGenerator({
      seed: 1,
      kinds: only,
      malformed: 0,
      tenant: null,
      clock: new EventClock({ startMs: START, eventsPerSecond: 10, diurnal: false }),
    });
    for (let i = 0; i < 100; i++) expect(JSON.parse(g.next().text).winlog.event_id).toBe('4740');
  });
});
