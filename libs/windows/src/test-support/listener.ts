import { connect, type Socket } from 'node:net';
import { type MemoryIntake, testContext } from '@siem/core/testing';
import { windowsEventsAdapter } from '../adapter.js';
import type { WindowsEventsSource } from '../source.js';

/** windows_events listeners and client sockets of a test file, all stopped by `closeAll` (afterEach). */
const started: WindowsEventsSource[] = [];
const sockets: Socket[] = [];

export async function closeAll(): Promise<void> {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(started.splice(0).map((s) => s.stop()));
}

/** A listener on 127.0.0.1, port 0, offering to `intake`. */
export async function listener(intake: MemoryIntake, options: Record<string, unknown> = {}) {
  const s = windowsEventsAdapter.create(
    'windows_events',
    { host: '127.0.0.1', port: 0, ...options },
    testContext(intake),
  ) as WindowsEventsSource;
  started.push(s);
  await s.start();
  return { s, port: Number(s.status().listen!.split(':').pop()) };
}

/** A plain TCP client, connected. */
export async function tcp(port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port });
  sockets.push(socket);
  socket.on('error', () => undefined);
  await new Promise<void>((r) => socket.once('connect', () => r()));
  return socket;
}
