import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runOrThrow, stopPid, waitFor } from '@siem/local-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuiltImages, buildImages, fullImageName, importImages } from './index.js';

/** A containerd of the test's own (not the cluster's), to import into and list. */
describe('importImages', () => {
  const dir = mkdtempSync(join(tmpdir(), 'siem-containerd-'));
  const socket = join(dir, 'containerd.sock');
  let pid = 0;
  let built: BuiltImages;

  beforeAll(async () => {
    built = await buildImages({ log: (line) => process.stdout.write(`${line}\n`) });
    const config = join(dir, 'config.toml');
    writeFileSync(
      config,
      [
        'version = 2',
        `root = "${join(dir, 'root')}"`,
        `state = "${join(dir, 'state')}"`,
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
        '[grpc]',
        `  address = "${socket}"`,
        '',
      ].join('\n'),
    );
    const child = spawn('containerd', ['--config', config], { stdio: 'ignore' });
    pid = child.pid!;
    await waitFor(
      'containerd',
      async () => {
        await runOrThrow('ctr', ['--address', socket, 'version']);
        return true;
      },
      30_000,
    );
  });

  afterAll(async () => {
    if (pid > 0) await stopPid(pid);
    rmSync(dir, { recursive: true, force: true });
  });

  it('puts both images into namespace k8s.io under the names CRI resolves', async () => {
    await importImages(socket);
    const names = (await runOrThrow('ctr', ['--address', socket, '-n', 'k8s.io', 'images', 'ls', '-q']))
      .trim()
      .split('\n');
    expect(names).toContain(`docker.io/library/${built.gateway}`);
    expect(names).toContain(fullImageName(built.kafka));
    expect(fullImageName(built.kafka)).toBe('docker.io/library/siem-kafka:4.1.1');
  });
});
