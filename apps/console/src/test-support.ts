/**
 * Test support for the console's browser tests (never used by the server): the bundle built once,
 * and Debian's Chromium driven by playwright-core — no browser is ever downloaded.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';

const buildScript = fileURLToPath(new URL('../build.mjs', import.meta.url));

/** Builds dist/www (esbuild, well under a second), throwing with esbuild's output on failure. */
export function buildConsole(): void {
  const r = spawnSync(process.execPath, [buildScript], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`console build failed:\n${r.stdout}\n${r.stderr}`);
}

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface TestBrowser {
  browser: Browser;
  close(): Promise<void>;
}

/**
 * Headless Chromium with a fresh profile (playwright gives every launch its own temporary
 * --user-data-dir and removes it on close). Background networking, component updates, sync and QUIC
 * are off: on a closed network their connection attempts only fail (many at a time) and slow it.
 */
export async function launchChromium(extraArgs: readonly string[] = []): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: install Debian's chromium package (or set CHROMIUM_PATH)`);
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
      ...extraArgs,
    ],
  });
  return {
    browser,
    async close() {
      await browser.close().catch(() => undefined);
    },
  };
}

/** util-linux `logger` sending one RFC 5424 message over TCP (octet counting) or UDP. */
export function logger(
  transport: 'tcp' | 'udp',
  port: number,
  message: string,
  priority = 'user.info',
): { status: number | null; stderr: string } {
  const args =
    transport === 'tcp'
      ? ['--tcp', '--octet-count', '--server', '127.0.0.1', '--port', String(port), '--rfc5424']
      : ['--udp', '--server', '127.0.0.1', '--port', String(port), '--rfc5424'];
  const r = spawnSync('logger', [...args, '-t', 'consoletest', '-p', priority, message], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  return { status: r.status, stderr: r.stderr };
}
