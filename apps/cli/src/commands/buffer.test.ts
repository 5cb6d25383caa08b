import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultBufferOptions, EventBuffer } from '@siem/buffer';
import { nodeArgsFor } from '@siem/core';
import { afterAll, describe, expect, it } from 'vitest';

const mainModule = new URL('../main.ts', import.meta.url);
const dirs: string[] = [];

function siem(args: string[]) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SIEM_')));
  return spawnSync(process.execPath, [...nodeArgsFor(mainModule), ...args], {
    encoding: 'utf8',
    env,
    timeout: 60_000,
  });
}

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('siem buffer', () => {
  it('inspects a spill directory, refuses to purge without --yes, then purges it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'siem-cli-buffer-'));
    dirs.push(dir);
    const buffer = new EventBuffer(
      { ...defaultBufferOptions(), dir, max_events: 1, sync_interval_ms: 0 },
      { name: 'cli-test' },
    );
    await buffer.open();
    buffer.offer(
      Array.from({ length: 40 }, (_, i) => ({ key: `h${i % 2}`, value: Buffer.from(`event ${i}`) })),
    );
    await buffer.flush();
    buffer.ack((await buffer.next(10))!);
    await buffer.close();

    const inspect = siem(['buffer', 'inspect', '--dir', dir, '--json']);
    expect(inspect.stderr).toBe('');
    expect(inspect.status).toBe(0);
    const report = JSON.parse(inspect.stdout) as {
      totals: { segments: number; events: number; unackedEvents: number };
    };
    expect(report.totals).toMatchObject({ segments: 1, events: 40, unackedEvents: 30 });
    expect(siem(['buffer', 'inspect', '--dir', dir]).stdout).toMatch(/30 not yet delivered/);

    const dry = siem(['buffer', 'purge', '--dir', dir]);
    expect(dry.status).toBe(1);
    expect(dry.stdout).toMatch(/would delete 1 segments \(30 undelivered events\).*--yes/);
    expect(readdirSync(dir).some((f) => f.endsWith('.sbuf'))).toBe(true);

    const purge = siem(['buffer', 'purge', '--dir', dir, '--yes']);
    expect(purge.status).toBe(0);
    expect(readdirSync(dir).some((f) => f.endsWith('.sbuf'))).toBe(false);
    expect(siem(['buffer', 'frobnicate']).status).toBe(2);
  }, 120_000);
});
