import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runOrThrow } from '@siem/local-stack';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { contextHash } from './context-hash.js';
import { isIgnored, parseDockerignore } from './dockerignore.js';

describe('.dockerignore rules', () => {
  const rules = parseDockerignore('# comment\nnode_modules\n**/dist\n/.cache/\n*.log\n!keep.log\n');

  it('leaves out a folder and everything below it', () => {
    expect(isIgnored(rules, 'node_modules')).toBe(true);
    expect(isIgnored(rules, 'node_modules/a/b.js')).toBe(true);
    expect(isIgnored(rules, '.cache/x')).toBe(true);
  });

  it('matches a bare name at the root only, `**/` at any depth', () => {
    expect(isIgnored(rules, 'libs/a/node_modules/x.js')).toBe(false);
    expect(isIgnored(rules, 'dist/a.js')).toBe(true);
    expect(isIgnored(rules, 'libs/a/dist/a.js')).toBe(true);
    expect(isIgnored(rules, 'libs/a/distant.ts')).toBe(false);
  });

  it('keeps `*` within one folder and lets a later `!` re-include', () => {
    expect(isIgnored(rules, 'x.log')).toBe(true);
    expect(isIgnored(rules, 'sub/x.log')).toBe(false);
    expect(isIgnored(rules, 'keep.log')).toBe(false);
  });
});

describe('contextHash', () => {
  let dir: string;
  const write = (file: string, text: string) => {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  };
  const hash = () => contextHash(dir, join(dir, 'Dockerfile'));

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'siem-context-hash-'));
    write('Dockerfile', 'FROM node:20-bookworm-slim\nCOPY . .\n');
    write('.dockerignore', 'node_modules\n**/dist\n');
    write('.gitignore', 'node_modules/\ndist/\n');
    write('src/a.ts', 'export const a = 1;\n');
    await runOrThrow('git', ['init', '-q'], { cwd: dir });
    await runOrThrow('git', ['add', '-A'], { cwd: dir });
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is the same for the same tree', async () => {
    expect(await hash()).toBe(await hash());
  });

  it('changes when a tracked file changes', async () => {
    const before = await hash();
    write('src/a.ts', 'export const a = 2;\n');
    expect(await hash()).not.toBe(before);
  });

  it('changes when the Dockerfile changes', async () => {
    const before = await hash();
    write('Dockerfile', 'FROM node:20-bookworm-slim\nCOPY . /app\n');
    expect(await hash()).not.toBe(before);
  });

  it('changes when a file is added to git, not before', async () => {
    const before = await hash();
    write('src/b.ts', 'export const b = 1;\n');
    expect(await hash()).toBe(before);
    await runOrThrow('git', ['add', 'src/b.ts'], { cwd: dir });
    expect(await hash()).not.toBe(before);
  });

  it('ignores files .dockerignore leaves out, even tracked ones', async () => {
    const before = await hash();
    write('node_modules/x/index.js', 'x');
    write('libs/y/dist/index.js', 'y');
    await runOrThrow('git', ['add', '-f', 'libs/y/dist/index.js'], { cwd: dir });
    expect(await hash()).toBe(before);
  });
});
