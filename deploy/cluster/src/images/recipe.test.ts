import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { debianMirrors, imageSources } from './apt-sources.js';
import { bundledNpmVersion } from './base-image.js';
import {
  baseRecipe,
  dockerfileBase,
  gatewayBaseRecipe,
  gatewayDockerfile,
  nvmrcPath,
  readNodePin,
} from './recipe.js';

const dir = mkdtempSync(join(tmpdir(), 'siem-recipe-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the base image recipe', () => {
  it('reads the one Node pin from .nvmrc, an exact version', () => {
    const pin = readNodePin();
    expect(pin).toMatch(/^\d+\.\d+\.\d+$/);
    expect(readFileSync(nvmrcPath, 'utf8').trim().replace(/^v/, '')).toBe(pin);
    const loose = join(dir, 'nvmrc');
    writeFileSync(loose, '20\n');
    expect(() => readNodePin(loose)).toThrow(/exact Node version/);
  });

  it("starts from the gateway Dockerfile's FROM, with Node at the pin", () => {
    const from = dockerfileBase(readFileSync(gatewayDockerfile, 'utf8'));
    const recipe = gatewayBaseRecipe();
    expect(recipe.image).toBe(`docker.io/library/${from}`);
    expect(recipe.node).toBe(readNodePin());
    expect(recipe.key).toContain(readNodePin());
    expect(recipe.key).toContain(recipe.suite);
  });

  it('refuses a pin whose major differs from the base image', () => {
    expect(baseRecipe('node:20-bookworm-slim', '20.20.2')).toMatchObject({
      suite: 'bookworm',
      node: '20.20.2',
    });
    expect(() => baseRecipe('node:22-bookworm-slim', '20.20.2')).toThrow(/pins 20.20.2/);
    expect(() => baseRecipe('node:20-alpine', '20.20.2')).toThrow(/only node:/);
  });

  it("finds the npm a Node release bundles in the release's changelog (newest first)", () => {
    const changelog = [
      '## 2026-01-01, Version 20.20.2',
      '* [`abc`] - **deps**: upgrade npm to 10.8.2 (npm team)',
      '* [`def`] - **deps**: upgrade npm to 10.8.1 (npm team)',
    ].join('\n');
    expect(bundledNpmVersion(changelog)).toBe('10.8.2');
    expect(() => bundledNpmVersion('nothing')).toThrow();
  });
});

describe("the machine's Debian mirrors", () => {
  const deb822 = `Types: deb
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
`;

  it('reads deb822 and one-line sources', () => {
    expect(debianMirrors([{ name: 'debian.sources', text: deb822 }], 'bookworm')).toEqual({
      debian: 'http://mirror.example/debian',
      security: 'http://mirror.example/debian-security',
    });
    const list = 'deb [arch=amd64] http://other.example/debian bookworm main\n';
    expect(debianMirrors([{ name: 'sources.list', text: list }], 'bookworm')).toEqual({
      debian: 'http://other.example/debian',
      security: null,
    });
    expect(() => debianMirrors([{ name: 'sources.list', text: list }], 'trixie')).toThrow(/no mirror/);
  });

  it('gives the image the same mirrors', () => {
    const text = imageSources(debianMirrors([{ name: 'd.sources', text: deb822 }], 'bookworm'), 'bookworm');
    expect(text).toContain('URIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates');
    expect(text).toContain('Suites: bookworm-security');
  });
});
