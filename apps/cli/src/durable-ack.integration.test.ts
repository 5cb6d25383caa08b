/**
 * `ack: durable` on the Windows events listener, as Winlogbeat meets it: a Lumberjack v2 writer sends
 * windows and forgets each one once ACKed. The all role is SIGKILLed right after the last ACK and
 * started again on the same data folder: every ACKed event must be stored. With `ack: memory` the
 * same run loses the events the memory ring held at the kill (tried: not all 20,000 were stored 30 s
 * after the restart), which is why 20,000 events are sent: fewer are all stored before the kill.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, type RoleProcess, startRoleProcess, uniqueSuffix, waitUntil } from '@siem/local-stack';
import { LumberjackClient } from '@siem/windows/testing';
import { afterAll, describe, expect, it } from 'vitest';

const API_PORT = await freePort();
const WIN_PORT = await freePort();
const WINLOGBEAT_4625 = new URL(
  '../../../libs/normalize/src/fixtures/windows/winlogbeat-4625.json',
  import.meta.url,
);

describe('durable Lumberjack ACKs survive SIGKILL', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'siem-durable-ack-'));
  const marker = `m${uniqueSuffix()}`;
  const env = {
    SIEM_DATA_DIR: dataDir,
    SIEM_API__PORT: String(API_PORT),
    SIEM_ADAPTERS__SYSLOG_UDP__ENABLED: 'false',
    SIEM_ADAPTERS__SYSLOG_TCP__ENABLED: 'false',
    SIEM_ADAPTERS__WINDOWS_EVENTS__HOST: '127.0.0.1',
    SIEM_ADAPTERS__WINDOWS_EVENTS__PORT: String(WIN_PORT),
    SIEM_ADAPTERS__WINDOWS_EVENTS__ACK: 'durable',
  };
  let proc: RoleProcess | null = null;
  afterAll(async () => {
    await proc?.stop('SIGTERM', 30_000);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('stores every event ACKed before the kill, after a restart on the same data folder', async () => {
    proc = await startRoleProcess('all', env, { startTimeoutMs: 240_000 });
    const fixture = JSON.parse(readFileSync(WINLOGBEAT_4625, 'utf8')) as Record<string, unknown>;
    const client = await LumberjackClient.tcp(WIN_PORT);
    const windows = 20;
    const perWindow = 1000;
    for (let w = 0; w < windows; w++) {
      const events = Array.from({ length: perWindow }, (_, i) =>
        JSON.stringify({
          ...fixture,
          '@timestamp': new Date().toISOString(),
          message: `${marker} window ${w} event ${i}`,
        }),
      );
      expect(await client.send(events, w % 2 === 0, 30_000)).toBe(perWindow);
    }
    // Every window is ACKed: the writer would now forget them. Kill at once, before any drain.
    proc.child.kill('SIGKILL');
    await proc.exited;
    client.socket.destroy();

    proc = await startRoleProcess('all', env, { startTimeoutMs: 240_000 });
    const count = async () => {
      const res = await fetch(`http://127.0.0.1:${API_PORT}/api/v1/events?q=${marker}&per_page=1&page=1`);
      const body = (await res.json()) as { meta?: { total_count: number | null } };
      return body.meta?.total_count ?? 0;
    };
    const stored = await waitUntil(
      'every ACKed event stored after the restart',
      async () => {
        const n = await count();
        return n >= windows * perWindow ? n : undefined;
      },
      120_000,
      1_000,
    );
    expect(stored).toBe(windows * perWindow);
  }, 600_000);
});
