import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resultsIn, STAGES, type StageSource, stageRows, stagesMarkdown } from './stages.js';

const rate: StageSource = {
  stage: 'parse',
  file: 'p',
  key: 'case',
  label: 'hot',
  also: { corpus: 'mixed' },
  field: 'events_per_s',
  kind: 'rate',
  note: 'n',
};
const cpu: StageSource = {
  ...rate,
  stage: 'produce',
  file: 'k',
  also: {},
  field: 'cpu_s_per_million',
  kind: 'cpu_per_million',
};
const files: Record<string, { rows: Array<Record<string, unknown>>; commit: string; measured_at: string }> = {
  p: {
    commit: 'abc1234',
    measured_at: '2026-11-23T12:00:00.000Z',
    rows: [
      { corpus: 'rfc3164', case: 'hot', events_per_s: 9 },
      { corpus: 'mixed', case: 'hot', events_per_s: 1_650_123 },
    ],
  },
  k: {
    commit: 'def5678',
    measured_at: '2026-11-22T00:00:00.000Z',
    rows: [{ case: 'hot', cpu_s_per_million: 4 }],
  },
};

describe('stageRows', () => {
  it('takes the matching row of each result, with its commit; CPU per million becomes events/s per core', () => {
    const rows = stageRows([rate, cpu], (f) => files[f] ?? null);
    expect(rows.map((r) => [r.stage, r.events_per_s_per_core, r.commit, r.measured_at])).toEqual([
      ['parse', 1_650_123, 'abc1234', '2026-11-23'],
      ['produce', 250_000, 'def5678', '2026-11-22'],
    ]);
    expect(stagesMarkdown(rows)).toContain('| parse | 1,650,123 | p.json "hot" events_per_s | abc1234 |');
  });

  it('names the missing file or row', () => {
    expect(() => stageRows([{ ...rate, file: 'gone' }], (f) => files[f] ?? null)).toThrow(
      /gone\.json is missing/,
    );
    expect(() => stageRows([{ ...rate, label: 'cold' }], (f) => files[f] ?? null)).toThrow(/no row "cold"/);
  });

  it('finds every stage in the committed results', () => {
    const rows = stageRows(STAGES, resultsIn(resolve(import.meta.dirname, '../../../bench/results')));
    expect(rows).toHaveLength(6);
    for (const r of rows) expect(r.events_per_s_per_core).toBeGreaterThan(0);
  });
});
