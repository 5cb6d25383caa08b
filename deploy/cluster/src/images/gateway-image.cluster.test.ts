import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportImage } from './archive.js';
import { ensureBaseImages } from './base-image.js';
import { imageConfig } from './buildah.js';
import { buildGatewayImage } from './gateway-image.js';
import { runInImage } from './image-run.js';
import { type BuiltImages, buildImages } from './index.js';
import { buildKafkaImage } from './kafka-image.js';
import { gatewayBaseRecipe, gatewayDockerfile } from './recipe.js';

/** What the Dockerfile's last stage says the image runs as, by instruction (the last of each wins). */
function finalStage(dockerfile: string): {
  user: string;
  entrypoint: string[];
  cmd: string[];
  env: Map<string, string>;
} {
  const text = dockerfile.replace(/\\\n/g, ' ');
  const stages = text.split(/^FROM\s.*$/m);
  const lines = stages[stages.length - 1]!.split('\n').map((l) => l.trim());
  const env = new Map<string, string>();
  let user = '0';
  let entrypoint: string[] = [];
  let cmd: string[] = [];
  for (const line of lines) {
    const [instr, ...rest] = line.split(/\s+/);
    const value = rest.join(' ');
    if (instr === 'USER') user = value;
    else if (instr === 'ENTRYPOINT') entrypoint = JSON.parse(value) as string[];
    else if (instr === 'CMD') cmd = JSON.parse(value) as string[];
    else if (instr === 'ENV') {
      for (const m of value.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env.set(m[1]!, m[2]!.replace(/^"|"$/g, ''));
    }
  }
  return { user, entrypoint, cmd, env };
}

describe('the gateway image, built from deploy/docker/Dockerfile', () => {
  let built: BuiltImages;

  beforeAll(async () => {
    built = await buildImages({ log: (line) => process.stdout.write(`${line}\n`) });
  });

  it('runs as the user, entrypoint, command and environment the Dockerfile gives', async () => {
    const want = finalStage(readFileSync(gatewayDockerfile, 'utf8'));
    const config = await imageConfig(built.gateway);
    expect(config.User).toBe('10001');
    expect(config.User).toBe(want.user);
    expect(config.Entrypoint).toEqual(want.entrypoint);
    expect(config.Cmd).toEqual(want.cmd);
    expect(want.env.size).toBeGreaterThan(0);
    for (const [name, value] of want.env) expect(config.Env).toContain(`${name}=${value}`);
    expect(built.sizes[built.gateway]).toBeGreaterThan(0);
  });

  it('has librdkafka with zstd, ssl and sasl', async () => {
    const r = await runInImage(
      built.gateway,
      ['-e', "console.log(require('node-rdkafka').features.join(','))"],
      {
        entrypoint: ['node'],
      },
    );
    expect(r.stderr).toBe('');
    const features = r.stdout.trim().split(',');
    expect(features).toEqual(expect.arrayContaining(['zstd', 'ssl', 'sasl']));
  });

  it('runs the CLI on a read-only root file system as a user that is not root', async () => {
    const help = await runInImage(built.gateway, ['--help']);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/serve/);
    const who = await runInImage(built.gateway, ['-c', 'id -u'], { entrypoint: ['sh'] });
    expect(who.stdout.trim()).toBe('10001');
    // Even root cannot write there: the check above ran on a root that is really read-only.
    const write = await runInImage(built.gateway, ['-c', 'touch /app/x'], { entrypoint: ['sh'], user: '0' });
    expect(write.code).not.toBe(0);
    expect(write.stderr).toMatch(/Read-only file system/);
  });

  it('builds nothing again from the same tree and recipe', async () => {
    // Asked for the same refs, not for the checkout's current one: others may commit meanwhile.
    const recipe = gatewayBaseRecipe();
    expect(await ensureBaseImages(recipe, () => undefined)).toBe(false);
    expect(await buildGatewayImage(built.gateway)).toBe(false);
    expect(await buildKafkaImage(recipe.debianImage)).toBe(false);
    expect(await exportImage(built.gateway)).toBe(false);
  });
});
