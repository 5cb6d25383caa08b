import { describe, expect, it } from 'vitest';
import { apiTarget } from './api-client.js';
import { parseCommandArgs, parseCount, parseDuration, UsageError } from './cli-support.js';

const config = { api: { host: '0.0.0.0', port: 8080, tls: { cert_file: null } } } as never;

describe('CLI argument helpers', () => {
  it('turns parseArgs complaints into one-line usage errors', () => {
    expect(() => parseCommandArgs(['--nope'], { json: { type: 'boolean' } })).toThrow(UsageError);
    expect(() => parseCommandArgs(['--api'], { api: { type: 'string' } })).toThrow(/--api/);
    expect(parseCommandArgs(['--api', 'x'], { api: { type: 'string' } }).values.api).toBe('x');
  });

  it('reads durations and counts, refusing the rest', () => {
    expect(parseDuration('1s', 'interval')).toBe(1000);
    expect(parseDuration('250ms', 'interval')).toBe(250);
    expect(parseDuration('2', 'interval')).toBe(2000);
    expect(parseDuration('1m', 'interval')).toBe(60_000);
    expect(() => parseDuration('fast', 'interval')).toThrow('--interval fast: expected a duration');
    expect(() => parseDuration('10ms', 'interval', 200)).toThrow(/between 200 ms/);
    expect(parseCount('5', 'max')).toBe(5);
    expect(() => parseCount('0', 'max')).toThrow(UsageError);
    expect(() => parseCount('1e3', 'max')).toThrow(UsageError);
  });

  it('finds the API from --api or the configuration (a wildcard host becomes loopback)', () => {
    expect(apiTarget(undefined, undefined, config)).toEqual({ base: 'http://127.0.0.1:8080', key: null });
    expect(apiTarget('http://10.0.0.5:9000/', 'tok', config)).toEqual({
      base: 'http://10.0.0.5:9000',
      key: 'tok',
    });
    expect(() => apiTarget('ftp://x', undefined, config)).toThrow(/http/);
    expect(() => apiTarget('not a url', undefined, config)).toThrow(UsageError);
    expect(() => apiTarget(undefined, ' ', config)).toThrow(/--api-key is empty/);
  });
});

describe('the help of poke, consume, tail and top', () => {
  it('has a usage line, the options and examples', async () => {
    const { pokeCommand } = await import('./poke.js');
    const { consumeCommand } = await import('./consume.js');
    const { tailCommand } = await import('./tail.js');
    const { topCommand } = await import('./top.js');
    for (const c of [pokeCommand, consumeCommand, tailCommand, topCommand]) {
      expect(c.usage.startsWith(`siem ${c.name} [`), c.name).toBe(true);
      const examples = c.usage.slice(c.usage.indexOf('examples:'));
      expect(
        examples.match(new RegExp(`^ {2}siem ${c.name}\\b`, 'gm'))?.length,
        c.name,
      ).toBeGreaterThanOrEqual(2);
    }
  });
});
