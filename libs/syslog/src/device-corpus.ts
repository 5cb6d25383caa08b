import { readFileSync } from 'node:fs';

/** One line of fixtures/devices.json: a real device format, where it comes from, what it parses to. */
export interface DeviceSample {
  device: string;
  source: string;
  raw: string;
  receivedAt: string;
  expect: Record<string, unknown> & {
    message?: string;
    messageStartsWith?: string;
    sd?: Record<string, Record<string, string>>;
    cef?: Record<string, unknown> & { extensions?: Record<string, string> };
    leef?: Record<string, unknown> & { attributes?: Record<string, string> };
  };
}

/** The device corpus (tests, the rsyslog differential test and the parse benchmark share it). */
export const deviceSamples: readonly DeviceSample[] = (
  JSON.parse(readFileSync(new URL('./fixtures/devices.json', import.meta.url), 'utf8')) as {
    samples: DeviceSample[];
  }
).samples;
