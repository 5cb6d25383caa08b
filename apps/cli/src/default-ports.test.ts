/**
 * The test support's table of the listeners a role opens (@siem/local-stack roleListeners, which keeps
 * tests off the default ports) against the configuration schema itself: a new listener, or a changed
 * default, must show up in both.
 */
import { roleListeners } from '@siem/local-stack';
import { loadRootConfig } from '@siem/runtime';
import { describe, expect, it } from 'vitest';

interface Listener {
  section: string;
  port: number;
  enabledByDefault: boolean;
}

/** Every section of the configuration with a port, as SIEM_<SECTION> names it. */
function listenersOf(o: unknown, path: string[] = [], out: Listener[] = []): Listener[] {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return out;
  const section = o as Record<string, unknown>;
  if (typeof section.port === 'number') {
    out.push({
      section: path.join('__').toUpperCase(),
      port: section.port,
      enabledByDefault: section.enabled === true,
    });
  }
  for (const [key, value] of Object.entries(section)) listenersOf(value, [...path, key], out);
  return out;
}

describe('the listeners the test support knows', () => {
  it('are those of the configuration, with its default ports', () => {
    const bySection = (a: Listener, b: Listener) => a.section.localeCompare(b.section);
    const known = roleListeners.map(({ section, port, enabledByDefault }) => ({
      section,
      port,
      enabledByDefault,
    }));
    expect(known.sort(bySection)).toEqual(listenersOf(loadRootConfig({ env: {} })).sort(bySection));
  });
});
