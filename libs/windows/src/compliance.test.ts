import { connect, type Socket } from 'node:net';
import type { Source } from '@siem/core';
import { MemoryIntake, testContext, until } from '@siem/core/testing';
import { type ComponentRef, metricsRegistry } from '@siem/observability';
import { componentSeriesValue, expectComponentSeriesMoved } from '@siem/observability/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { windowsEventsAdapter } from './adapter.js';
import { LumberjackClient } from './test-support/lumberjack-client.js';

/**
 * The component-metrics compliance check (issue 17) for the windows_events listener: it runs on a
 * free port of 127.0.0.1 under its own id, takes NDJSON and Lumberjack traffic, and its vocabulary
 * series move — received always, discarded and errors where the test provokes them.
 */

const started: Source[] = [];
const sockets: Socket[] = [];
const clients: LumberjackClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(started.splice(0).map((s) => s.stop()));
});

async function start(id: string, intake: MemoryIntake): Promise<{ s: Source; port: number }> {
  const s = windowsEventsAdapter.create(id, { host: '127.0.0.1', port: 0 }, testContext(intake));
  started.push(s);
  await s.start();
  return { s, port: Number(s.status().listen!.split(':').pop()) };
}

/** The value of one vocabulary series of `ref` with `labels`, 0 when it has none. */
const series = (name: string, ref: ComponentRef, labels: Record<string, string>) =>
  componentSeriesValue(metricsRegistry, name, ref.id, labels);

const event = JSON.stringify({ Hostname: 'dc01.example', EventID: 4624, Message: 'An account logged on.' });

describe('component metrics compliance: windows_events', () => {
  it('NDJSON: received, errors (a line that is not JSON), discarded (a blank line, intended)', async () => {
    const ref: ComponentRef = { id: 'compliance_windows', kind: 'source', type: 'windows_events' };
    const intake = new MemoryIntake();
    const { s, port } = await start(ref.id, intake);
    const socket = connect({ host: '127.0.0.1', port });
    sockets.push(socket);
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(`${event}\nnot json at all\n   \n`);
    await until(() => s.status().counters!.received_events === 3, 5000, 'three lines');
    await expectComponentSeriesMoved(metricsRegistry, ref, { received: true, discarded: true, errors: true });
    expect(
      await series('siem_component_discarded_events_total', ref, { reason: 'empty', intentional: 'true' }),
    ).toBe(1);
    expect(
      await series('siem_component_errors_total', ref, { error_code: 'invalid_json', stage: 'processing' }),
    ).toBe(1);
  });

  it('Lumberjack: received and ACKed; a rejected window is discarded (a failure) and not ACKed', async () => {
    const ref: ComponentRef = { id: 'compliance_windows_lj', kind: 'source', type: 'windows_events' };
    const intake = new MemoryIntake();
    const { port } = await start(ref.id, intake);
    const c = await LumberjackClient.tcp(port);
    clients.push(c);
    expect(await c.send([event, event], false)).toBe(2);
    await expectComponentSeriesMoved(metricsRegistry, ref, { received: true });
    intake.answer = 'rejected';
    const rejected = await LumberjackClient.tcp(port);
    clients.push(rejected);
    await expect(rejected.send([event], false, 2000)).rejects.toThrow();
    expect(
      await series('siem_component_discarded_events_total', ref, { reason: 'full', intentional: 'false' }),
    ).toBe(1);
    expect(await series('siem_component_received_events_total', ref, {})).toBe(3);
  });
});
