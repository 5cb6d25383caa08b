/**
 * Regenerates the console's screenshots (apps/console/docs/*.png) from a real all-role process on
 * free ports, fed by the project's own generator (`siem emit-sample`) over syslog TCP and UDP, the
 * Windows NDJSON listener and the cloud intake:
 *
 *   node --conditions=source --import tsx apps/console/scripts/screenshots.ts
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startRoleProcess } from '@siem/local-stack';
import { buildConsole, launchChromium } from '../src/test-support.js';

const out = fileURLToPath(new URL('../docs/', import.meta.url));
const cli = fileURLToPath(new URL('../../cli/src/main.ts', import.meta.url));

function emit(args: string[]): void {
  const r = spawnSync(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', cli, 'emit-sample', ...args],
    {
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
  if (r.status !== 0) throw new Error(`emit-sample ${args.join(' ')} failed:\n${r.stderr}`);
}

const dir = mkdtempSync(join(tmpdir(), 'siem-console-shots-'));
const [api, tcp, udp, windows] = [await freePort(), await freePort(), await freePort(), await freePort()];
buildConsole();
const role = await startRoleProcess(
  'all',
  {
    SIEM_DATA_DIR: join(dir, 'data'),
    SIEM_API__PORT: String(api),
    SIEM_ADAPTERS__SYSLOG_TCP__HOST: '127.0.0.1',
    SIEM_ADAPTERS__SYSLOG_TCP__PORT: String(tcp),
    SIEM_ADAPTERS__SYSLOG_UDP__HOST: '127.0.0.1',
    SIEM_ADAPTERS__SYSLOG_UDP__PORT: String(udp),
    SIEM_ADAPTERS__WINDOWS_EVENTS__HOST: '127.0.0.1',
    SIEM_ADAPTERS__WINDOWS_EVENTS__PORT: String(windows),
    SIEM_ADAPTERS__CLOUD_HTTP__ENABLED: 'true',
  },
  { startTimeoutMs: 240_000 },
);
const chrome = await launchChromium();
try {
  mkdirSync(out, { recursive: true });
  const page = await chrome.browser.newPage({ viewport: { width: 1400, height: 900 } });
  const base = `http://127.0.0.1:${api}/console/`;
  await page.goto(`${base}#/overview`);
  // a minute of traffic with some variety, so the charts have a shape
  for (let i = 0; i < 6; i++) {
    emit(['400', '--protocol', 'tcp', '--to', `127.0.0.1:${tcp}`]);
    emit(['200', '--protocol', 'udp', '--to', `127.0.0.1:${udp}`]);
    if (i % 2 === 0) emit(['100', '--protocol', 'lumberjack', '--to', `127.0.0.1:${windows}`]);
    if (i % 3 === 0) emit(['50', '--protocol', 'http', '--to', `127.0.0.1:${api}`]);
    await new Promise((r) => setTimeout(r, 3000));
  }
  await page.screenshot({ path: join(out, 'overview.png') });

  await page.goto(`${base}#/search?range=15m&min_severity=warning`);
  await page.getByTestId('event-row').first().waitFor();
  await page.getByTestId('event-row').nth(1).click();
  await page.screenshot({ path: join(out, 'search.png') });

  await page.goto(`${base}#/tail`);
  await page.getByTestId('tail-status').getByText('live').waitFor();
  const feed = setInterval(() => emit(['100', '--protocol', 'tcp', '--to', `127.0.0.1:${tcp}`]), 500);
  await new Promise((r) => setTimeout(r, 4000));
  clearInterval(feed);
  await page.screenshot({ path: join(out, 'tail.png') });

  await page.goto(`${base}#/adapters`);
  await page.getByTestId('adapter-syslog_tcp').getByRole('button', { name: 'Configure' }).click();
  const form = page.getByTestId('config-syslog_tcp');
  await form.locator('input[name="port"]').fill('70000');
  await form.getByRole('button', { name: 'Validate and apply' }).click();
  await form.getByTestId('problem-port').waitFor();
  await page.screenshot({ path: join(out, 'adapters.png') });

  await page.goto(`${base}#/status`);
  await page.getByTestId('status-ready').getByText('ready').waitFor();
  await page.getByTestId('tier-hot').waitFor();
  await page.screenshot({ path: join(out, 'status.png') });
  console.log(`screenshots written to ${out}`);
} finally {
  await chrome.close();
  await role.stop('SIGTERM', 30_000);
  rmSync(dir, { recursive: true, force: true });
}
