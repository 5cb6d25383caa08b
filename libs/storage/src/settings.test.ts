import { join, resolve } from 'node:path';
import { checkAgainst } from '@siem/config';
import { describe, expect, it } from 'vitest';
import { type StorageOptions, storageOptionsSchema } from './options.js';
import { resolveSettings, storageSettings } from './settings.js';

function options(doc: object): StorageOptions {
  const o = structuredClone(doc);
  expect(checkAgainst(storageOptionsSchema, o)).toEqual([]);
  return o as StorageOptions;
}

describe('storage settings', () => {
  it('fills every default and places the archive under the data folder', () => {
    const s = storageSettings(options({}), '/var/lib/siem');
    expect(s).toMatchObject({
      schema: 'siem',
      engine: 'auto',
      chunkInterval: '1 day',
      warmAfter: '7 days',
      coldAfter: '30 days',
      frozenAfter: '90 days',
      coldTablespace: null,
      schedule: '1 hour',
      archive: { enabled: true, dir: join('/var/lib/siem', 'archive') },
    });
    expect(resolveSettings({}).archive.dir).toBe(resolve('./data/archive'));
  });

  it('takes every boundary from the configuration', () => {
    const s = storageSettings(
      options({
        chunk: { interval: '6 hours' },
        tiers: {
          warm_after: '2 days',
          cold_after: '10 days',
          frozen_after: '30 days',
          cold_tablespace: 'slow',
        },
        archive: { dir: '/archive' },
      }),
    );
    expect(s).toMatchObject({
      chunkInterval: '6 hours',
      warmAfter: '2 days',
      coldAfter: '10 days',
      frozenAfter: '30 days',
      coldTablespace: 'slow',
      archive: { dir: '/archive' },
    });
  });

  it('rejects malformed intervals and schema names, and ages that decrease', () => {
    const problems = checkAgainst(storageOptionsSchema, {
      schema: 'Bad-Name',
      chunk: { interval: '30 minutes' },
      tiers: { warm_after: 'a week' },
    });
    expect(problems.map((p) => p.path).sort()).toEqual(['/chunk/interval', '/schema', '/tiers/warm_after']);
    expect(() => storageSettings(options({ tiers: { warm_after: '60 days' } }))).toThrow(/must not decrease/);
  });
});
