/**
 * The web console in a real browser (Debian's Chromium through playwright-core) against real `siem
 * serve --role all` processes on the embedded database, on free ports: events sent with util-linux
 * `logger` over TCP and UDP and with fetch to the cloud intake, then every page used as an operator
 * would. One process runs keyless (the `npm start` mode, where Origin checks guard the API), one with
 * API keys (the login, a read-only key, the tail through a key).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, type RoleProcess, startRoleProcess, uniqueSuffix, waitUntil } from '@siem/local-stack';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole, launchChromium, logger, type TestBrowser } from './test-support.js';

interface Ports {
  api: number;
  tcp: number;
  udp: number;
  windows: number;
}

async function ports(): Promise<Ports> {
  return { api: await freePort(), tcp: await freePort(), udp: await freePort(), windows: await freePort() };
}

function roleEnv(dir: string, p: Ports, config: string | null): Record<string, string> {
  return {
    ...(config === null ? {} : { SIEM_CONFIG: config }),
    SIEM_DATA_DIR: join(dir, 'data'),
    SIEM_API__PORT: String(p.api),
    SIEM_ADAPTERS__SYSLOG_TCP__HOST: '127.0.0.1',
    SIEM_ADAPTERS__SYSLOG_TCP__PORT: String(p.tcp),
    SIEM_ADAPTERS__SYSLOG_UDP__HOST: '127.0.0.1',
    SIEM_ADAPTERS__SYSLOG_UDP__PORT: String(p.udp),
    SIEM_ADAPTERS__WINDOWS_EVENTS__HOST: '127.0.0.1',
    SIEM_ADAPTERS__WINDOWS_EVENTS__PORT: String(p.windows),
    SIEM_ADAPTERS__CLOUD_HTTP__ENABLED: 'true',
  };
}

const token = () => `siem_${randomBytes(32).toString('base64url')}`;
const digest = (t: string) => `sha256:${createHash('sha256').update(t).digest('hex')}`;

/** The number a test id's element shows (its first run of digits, thousands separators allowed). */
async function numberIn(page: Page, testId: string): Promise<number> {
  const text = (await page.getByTestId(testId).first().textContent()) ?? '';
  const m = /[\d,]+/.exec(text);
  return m === null ? Number.NaN : Number(m[0].replaceAll(',', ''));
}

async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  ms = 30_000,
): Promise<T> {
  return waitUntil(what, async () => (await fn()) || undefined, ms, 200);
}

const dir = mkdtempSync(join(tmpdir(), 'siem-console-'));
const open = ports();
const keyed = ports();
const marker = `c${uniqueSuffix()}`;
const adminToken = token();
const readToken = token();
let keyless: RoleProcess | null = null;
let withKeys: RoleProcess | null = null;
let chrome: TestBrowser | null = null;
let P: Ports;
let K: Ports;

beforeAll(async () => {
  buildConsole();
  P = await open;
  K = await keyed;
  const keysFile = join(dir, 'keys.yaml');
  writeFileSync(
    keysFile,
    [
      'api:',
      '  keys:',
      `    - { id: ops, hash: "${digest(adminToken)}", scopes: [read, tail, admin] }`,
      `    - { id: ro, hash: "${digest(readToken)}", scopes: [read] }`,
      '',
    ].join('\n'),
  );
  // started together: each spends most of its start-up preparing its embedded database
  const [a, b, c] = await Promise.allSettled([
    startRoleProcess('all', roleEnv(join(dir, 'open'), P, null), { startTimeoutMs: 240_000 }),
    startRoleProcess('all', roleEnv(join(dir, 'keys'), K, keysFile), { startTimeoutMs: 240_000 }),
    // two names of other sites that resolve to this machine: a page of another origin whose requests
    // the browser lets through to loopback (so the API's own checks are what refuse them), and a
    // DNS-rebinding name pointing at the API itself
    launchChromium(['--host-resolver-rules=MAP evil.example 127.0.0.1, MAP rebind.example 127.0.0.1']),
  ]);
  // whatever started is stopped in afterAll, also when another part failed to start
  keyless = a.status === 'fulfilled' ? a.value : null;
  withKeys = b.status === 'fulfilled' ? b.value : null;
  chrome = c.status === 'fulfilled' ? c.value : null;
  for (const r of [a, b, c]) if (r.status === 'rejected') throw r.reason;
}, 300_000);

afterAll(async () => {
  await chrome?.close();
  await Promise.all([keyless?.stop('SIGTERM', 30_000), withKeys?.stop('SIGTERM', 30_000)]);
  rmSync(dir, { recursive: true, force: true });
});

describe('the console in keyless loopback mode', () => {
  const url = () => `http://127.0.0.1:${P.api}/console/`;

  it('serves the bundle with its content types, caching and CSP, and / leads to it', async () => {
    const index = await fetch(url());
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(index.headers.get('cache-control')).toBe('no-cache');
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(index.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    const html = await index.text();
    const js = /src="\.\/(main-[A-Z0-9]+\.js)"/.exec(html)?.[1];
    expect(js).toBeDefined();
    const bundle = await fetch(`${url()}${js}`);
    expect(bundle.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(bundle.headers.get('cache-control')).toContain('immutable');
    const root = await fetch(`http://127.0.0.1:${P.api}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/console/');
    expect((await fetch(`${url()}..%2f..%2fpackage.json`)).status).toBe(404);
  });

  it('overview: the counters and charts move as events arrive', async () => {
    const page = await chrome!.browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(`${url()}#/overview`);
    await page.getByTestId('stat-received').waitFor();
    await eventually('the first stats', async () => !Number.isNaN(await numberIn(page, 'stat-received')));
    const before = await numberIn(page, 'stat-received');
    for (let i = 0; i < 4; i++) expect(logger('tcp', P.tcp, `overview tcp ${i} ${marker}`).status).toBe(0);
    for (let i = 0; i < 3; i++) expect(logger('udp', P.udp, `overview udp ${i} ${marker}`).status).toBe(0);
    const cloud = await fetch(`http://127.0.0.1:${P.api}/api/v1/ingest/cloudtrail`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        Records: [1, 2].map((i) => ({
          eventVersion: '1.08',
          eventTime: new Date().toISOString(),
          eventSource: 'signin.amazonaws.com',
          eventName: `ConsoleLogin${i}`,
          awsRegion: 'us-east-1',
        })),
      }),
    });
    expect(cloud.status).toBe(202);
    const after = await eventually(
      'the received tile to count the 9 events',
      async () => {
        const n = await numberIn(page, 'stat-received');
        return n >= before + 9 ? n : undefined;
      },
      30_000,
    );
    expect(after).toBeGreaterThanOrEqual(before + 9);
    await eventually('stored to count them too', async () => (await numberIn(page, 'stat-stored')) >= 9);
    // one uPlot canvas per chart, and the received chart has one series per adapter that received
    expect(await page.locator('[data-testid="chart-received"] canvas').count()).toBe(1);
    // the chart is rebuilt (after the paint that shows the tiles) when a new adapter's series appears
    await eventually('a series per adapter that received', async () => {
      const legend = (await page.locator('[data-testid="chart-received"] .u-legend').textContent()) ?? '';
      return ['syslog_tcp', 'syslog_udp', 'cloud_http'].every((a) => legend.includes(a));
    });
    expect(await page.getByTestId('banner').textContent()).toMatch(/All good/);
    // each dependency with the time its readiness check took
    await eventually('the database check latency', async () =>
      /^\d+(\.\d)? ms$/.test((await page.getByTestId('latency-database').textContent()) ?? ''),
    );

    // drops turn the banner red with their cause: syslog_udp limited to 1 event/s per source, 12 sent
    const adapter = `http://127.0.0.1:${P.api}/api/v1/adapters/syslog_udp`;
    const { options } = (await (await fetch(adapter)).json()) as { options: Record<string, unknown> };
    const put = (rateLimit: Record<string, unknown>) =>
      fetch(`${adapter}/config`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...options, rate_limit: rateLimit }),
      });
    expect((await put({ enabled: true, events_per_second: 1, burst: 1 })).status).toBe(200);
    for (let i = 0; i < 12; i++) expect(logger('udp', P.udp, `flood ${i} ${marker}`).status).toBe(0);
    await eventually('the red banner naming the drops', async () =>
      ((await page.getByTestId('banner').textContent()) ?? '').includes('dropped by policy'),
    );
    expect(await page.locator('[data-testid="banner"].bad').count()).toBe(1);
    expect(await page.locator('[data-testid="chart-drops"] .u-legend').textContent()).toMatch(
      /dropped syslog_udp \w+/,
    );
    expect((await put({ enabled: false })).status).toBe(200);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('search: filters, histogram count, expanded row with its raw payload, the query kept in the URL', async () => {
    const tag = `s${uniqueSuffix()}`;
    for (let i = 0; i < 3; i++)
      expect(logger('tcp', P.tcp, `search err ${i} ${tag}`, 'auth.err').status).toBe(0);
    for (let i = 0; i < 2; i++)
      expect(logger('udp', P.udp, `search info ${i} ${tag}`, 'user.info').status).toBe(0);
    const page = await chrome!.browser.newPage();
    await page.goto(`${url()}#/search`);
    await page.locator('#f-q').fill(tag);
    await page.locator('#f-severity').fill('error');
    await page.locator('#f-range').selectOption('15m');
    // the events are stored within a second or two: search again until all three are there
    await eventually('the three error events', async () => {
      await page.getByRole('button', { name: 'Search' }).click();
      await page.waitForFunction("!document.body.textContent.includes('Searching…')");
      return (await page.getByTestId('event-row').count()) === 3;
    });
    expect(await numberIn(page, 'histogram-total')).toBe(3);
    expect(await page.locator('[data-testid="histogram"] canvas').count()).toBe(1);
    const texts = await page.getByTestId('event-row').allTextContents();
    expect(texts.every((t) => t.includes(tag) && t.includes('error'))).toBe(true);
    expect(page.url()).toContain(`q=${tag}`);
    expect(page.url()).toContain('severity=error');
    expect(page.url()).toContain('range=15m');

    await page.getByTestId('event-row').first().click();
    const raw = await page.getByTestId('raw-payload').textContent();
    expect(raw).toMatch(new RegExp(`^<\\d+>1 .* consoletest .*search err \\d ${tag}`));
    expect(await page.getByTestId('event-detail').textContent()).toContain('"severity": 3');

    // reload: the query comes back from the URL, the same results with it
    await page.reload();
    await eventually('the reloaded search', async () => (await page.getByTestId('event-row').count()) === 3);
    expect(await page.locator('#f-q').inputValue()).toBe(tag);
    expect(await page.locator('#f-severity').inputValue()).toBe('error');

    // without the severity filter, both transports' events
    await page.locator('#f-severity').fill('');
    await page.getByRole('button', { name: 'Search' }).click();
    await eventually('all five', async () => (await page.getByTestId('event-row').count()) === 5);
    expect(await numberIn(page, 'histogram-total')).toBe(5);

    // click-drag across the histogram narrows the range to absolute from/to
    const over = page.locator('[data-testid="histogram"] .u-over');
    const box = (await over.boundingBox())!;
    await page.mouse.move(box.x + 5, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width - 5, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    await eventually('the narrowed range in the URL', async () => page.url().includes('from='));
    expect(page.url()).not.toContain('range=');
    await page.close();
  });

  it('tail: new events stream in; pause holds them back and resume shows them', async () => {
    const tag = `t${uniqueSuffix()}`;
    const page = await chrome!.browser.newPage();
    await page.goto(`${url()}#/tail?q=${tag}`);
    await eventually(
      'the tail to connect',
      async () => (await page.getByTestId('tail-status').textContent()) === 'live',
    );
    expect(logger('tcp', P.tcp, `tail one ${tag}`).status).toBe(0);
    await eventually(
      'the first event in the tail',
      async () => (await page.getByTestId('tail-row').count()) === 1,
      20_000,
    );
    expect(await page.getByTestId('tail-row').first().textContent()).toContain(`tail one ${tag}`);

    await page.getByTestId('pause').click();
    expect(await page.getByTestId('tail-status').textContent()).toBe('paused');
    expect(logger('udp', P.udp, `tail two ${tag}`).status).toBe(0);
    await eventually(
      'the second event received while paused',
      async () => (await numberIn(page, 'tail-received')) === 2,
      20_000,
    );
    await new Promise((r) => setTimeout(r, 600)); // more than two redraw periods
    expect(await page.getByTestId('tail-row').count()).toBe(1);

    await page.getByTestId('pause').click();
    await eventually(
      'the held event drawn after resume',
      async () => (await page.getByTestId('tail-row').count()) === 2,
    );
    expect(await page.getByTestId('tail-row').first().textContent()).toContain(`tail two ${tag}`);
    await page.close();
  });

  it('adapters: stop refuses sends, start takes them again; a bad change (form or YAML) is shown beside its field', async () => {
    const page = await chrome!.browser.newPage();
    await page.goto(`${url()}#/adapters`);
    const row = page.getByTestId('adapter-syslog_tcp');
    await eventually(
      'syslog_tcp running',
      async () => (await row.getByTestId('state').textContent()) === 'running',
    );
    await row.getByRole('button', { name: 'Stop' }).click();
    await eventually(
      'syslog_tcp stopped',
      async () => (await row.getByTestId('state').textContent()) === 'stopped',
    );
    expect(logger('tcp', P.tcp, `while stopped ${marker}`).status).not.toBe(0);
    await row.getByRole('button', { name: 'Start' }).click();
    await eventually(
      'syslog_tcp running again',
      async () => (await row.getByTestId('state').textContent()) === 'running',
    );
    expect(logger('tcp', P.tcp, `after start ${marker}`).status).toBe(0);

    await row.getByRole('button', { name: 'Configure' }).click();
    const form = page.getByTestId('config-syslog_tcp');
    await form.locator('input[name="port"]').waitFor();
    await form.locator('input[name="port"]').fill('70000');
    await form.getByRole('button', { name: 'Validate and apply' }).click();
    const problem = form.getByTestId('problem-port');
    await problem.waitFor();
    expect(await problem.textContent()).toMatch(/65535/);
    expect(await form.getByRole('alert').last().textContent()).toContain('SIEM_ERR_CONFIG_INVALID');
    // the running adapter is untouched: same state, same port, still taking events
    const view = (await (await fetch(`http://127.0.0.1:${P.api}/api/v1/adapters/syslog_tcp`)).json()) as {
      state: string;
      listen: string;
    };
    expect(view).toMatchObject({ state: 'running', listen: `tcp://127.0.0.1:${P.tcp}` });
    expect(logger('tcp', P.tcp, `after refused change ${marker}`).status).toBe(0);

    // the same as YAML: the options as the configuration file writes them; a bad value is named, a
    // good change is applied and the adapter restarts with it
    await page.getByRole('tab', { name: 'YAML' }).click();
    const yamlForm = page.getByTestId('yaml-syslog_tcp');
    const editor = yamlForm.locator('textarea[name="yaml"]');
    await editor.waitFor();
    const text = await editor.inputValue();
    expect(text).toContain(`port: ${P.tcp}`);
    await editor.fill(text.replace(`port: ${P.tcp}`, 'port: 70000'));
    await yamlForm.getByRole('button', { name: 'Validate and apply' }).click();
    await yamlForm.getByTestId('problem-port').waitFor();
    expect(await yamlForm.getByTestId('problem-port').textContent()).toMatch(/port: .*65535/);
    await editor.fill(`${text.replace(`port: ${P.tcp}`, 'port: [1')}`);
    await yamlForm.getByRole('button', { name: 'Validate and apply' }).click();
    await eventually('the YAML syntax error', async () =>
      /not valid YAML/.test((await yamlForm.getByRole('alert').last().textContent()) ?? ''),
    );
    const maxBytes = /max_message_bytes: (\d+)/.exec(text)?.[1];
    expect(maxBytes).toBeDefined();
    await editor.fill(text.replace(`max_message_bytes: ${maxBytes}`, 'max_message_bytes: 4096'));
    await yamlForm.getByRole('button', { name: 'Validate and apply' }).click();
    await yamlForm.locator('.ok').waitFor();
    const changed = (await (await fetch(`http://127.0.0.1:${P.api}/api/v1/adapters/syslog_tcp`)).json()) as {
      state: string;
      options: { max_message_bytes: number; port: number };
    };
    expect(changed).toMatchObject({ state: 'running', options: { max_message_bytes: 4096, port: P.tcp } });
    expect(logger('tcp', P.tcp, `after YAML change ${marker}`).status).toBe(0);
    await page.close();
  });

  it('status: keyless session, readiness with latency, version, role, configuration, storage tiers', async () => {
    const page = await chrome!.browser.newPage();
    await page.goto(`${url()}#/status`);
    await eventually(
      'readiness',
      async () => (await page.getByTestId('status-ready').textContent()) === 'ready',
    );
    expect(await page.getByTestId('status-key').textContent()).toContain('keyless');
    await page.getByTestId('status-version').waitFor();
    const version = (
      JSON.parse(readFileSync(new URL('../../../libs/runtime/package.json', import.meta.url), 'utf8')) as {
        version: string;
      }
    ).version;
    expect(await page.getByTestId('status-version').textContent()).toBe(version);
    expect(await page.getByTestId('status-role').textContent()).toBe('all');
    const config = JSON.parse((await page.getByTestId('status-config').textContent()) ?? '{}') as {
      adapters: Record<string, { port: number }>;
    };
    expect(config.adapters.syslog_tcp?.port).toBe(P.tcp);
    // the embedded database's tiers, read on the status route: the events of the earlier tests are hot
    await page.getByTestId('tier-hot').waitFor();
    const hot = await page.getByTestId('tier-hot').locator('td').allTextContents();
    expect(Number(hot[1])).toBeGreaterThan(0);
    expect(await page.getByTestId('status-tiers').textContent()).toMatch(/timescaledb, schema \w+/);
    await page.close();
  });

  it('a page of another site cannot drive the API through the browser', async () => {
    const evilPort = await freePort();
    const evil = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>another site</title>');
    });
    await new Promise<void>((resolve) => evil.listen(evilPort, '127.0.0.1', resolve));
    const page = await chrome!.browser.newPage();
    try {
      await page.goto(`http://evil.example:${evilPort}/`);
      const api = `127.0.0.1:${P.api}`;
      const outcome = (await page.evaluate(`(async () => {
        // a "simple" cross-site POST needs no preflight: the browser sends it, the API must refuse it
        const post = await fetch('http://${api}/api/v1/adapters/syslog_udp/stop', {
          method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: '{}',
        }).then(() => 'sent', (e) => 'failed: ' + e);
        const tail = await new Promise((resolve) => {
          const ws = new WebSocket('ws://${api}/api/v1/tail');
          ws.onopen = () => resolve('open');
          ws.onerror = () => resolve('refused');
          setTimeout(() => resolve('timeout'), 5000);
        });
        return { post, tail };
      })()`)) as { post: string; tail: string };
      expect(outcome).toEqual({ post: 'sent', tail: 'refused' });
    } finally {
      await page.close();
      evil.close();
    }
    const udp = (await (await fetch(`http://127.0.0.1:${P.api}/api/v1/adapters/syslog_udp`)).json()) as {
      state: string;
    };
    expect(udp.state).toBe('running');
    // the POST did reach the API (the browser did not block it) and the API refused it
    const metrics = await (await fetch(`http://127.0.0.1:${P.api}/metrics`)).text();
    expect(metrics).toMatch(
      /siem_api_requests_total\{route="\/api\/v1\/adapters\/:name\/stop",status="403"\} 1\b/,
    );

    // DNS rebinding: the console itself loaded through a name of another site that resolves here
    const rebound = await chrome!.browser.newPage();
    await rebound.goto(`http://rebind.example:${P.api}/console/#/overview`);
    await eventually('the refusal shown', async () =>
      ((await rebound.getByRole('alert').first().textContent()) ?? '').includes('loopback host names only'),
    );
    expect(await rebound.getByTestId('stat-received').count()).toBe(0);
    await rebound.close();
  });
});

describe('the console with API keys', () => {
  const url = () => `http://127.0.0.1:${K.api}/console/`;

  it('asks for a key, keeps it in sessionStorage only; a read key is told what it lacks', async () => {
    const context = await chrome!.browser.newContext();
    const page = await context.newPage();
    await page.goto(`${url()}#/overview`);
    const login = page.getByTestId('login');
    await login.waitFor();
    await login.locator('input[name="api-key"]').fill(token());
    await login.getByRole('button', { name: 'Sign in' }).click();
    await eventually('the refusal of an unknown key', async () =>
      ((await login.getByRole('alert').textContent()) ?? '').includes('not a valid API key'),
    );
    await login.locator('input[name="api-key"]').fill(readToken);
    await login.getByRole('button', { name: 'Sign in' }).click();
    await eventually('signed in as ro', async () =>
      (await page.getByTestId('who').textContent())?.includes('key ro: read'),
    );
    const storage = (await page.evaluate(
      "({ session: sessionStorage.getItem('siem.console.key'), local: localStorage.length, href: location.href })",
    )) as { session: string | null; local: number; href: string };
    expect(storage.session).toBe(readToken);
    expect(storage.local).toBe(0);
    expect(storage.href).not.toContain(readToken);
    await page.getByTestId('stat-received').waitFor();

    await page.goto(`${url()}#/tail`);
    expect(await page.getByTestId('scope-missing').textContent()).toContain(
      'needs the tail scope; key ro has read',
    );
    await page.goto(`${url()}#/adapters`);
    expect(await page.getByTestId('scope-missing').textContent()).toContain('needs the admin scope');
    const stop = page.getByTestId('adapter-syslog_tcp').getByRole('button', { name: 'Stop' });
    await stop.waitFor();
    expect(await stop.isDisabled()).toBe(true);
    await page.goto(`${url()}#/status`);
    const shown = await page.getByTestId('status-key').textContent();
    expect(shown).toContain('ro');
    expect(shown).not.toContain(readToken);
    // the configuration and tiers are the admin's: the page says so, and the API refuses by itself
    expect(await page.getByTestId('scope-missing').textContent()).toContain('needs the admin scope');
    const statusRefused = await fetch(`http://127.0.0.1:${K.api}/api/v1/status`, {
      headers: { authorization: `Bearer ${readToken}` },
    });
    expect(statusRefused.status).toBe(403);
    // the API refuses the read key's adapter action by itself, whatever the console shows
    const refused = await fetch(`http://127.0.0.1:${K.api}/api/v1/adapters/syslog_tcp/stop`, {
      method: 'POST',
      headers: { authorization: `Bearer ${readToken}` },
    });
    expect(refused.status).toBe(403);
    await context.close();

    // a new browsing context (a new tab session) starts signed out
    const fresh = await chrome!.browser.newContext();
    const again = await fresh.newPage();
    await again.goto(`${url()}#/overview`);
    await again.getByTestId('login').waitFor();
    await fresh.close();
  });

  it('an admin key tails through the WebSocket with its key', async () => {
    const tag = `k${uniqueSuffix()}`;
    const context = await chrome!.browser.newContext();
    const page = await context.newPage();
    await page.goto(`${url()}#/tail?q=${tag}`);
    await page.getByTestId('login').locator('input[name="api-key"]').fill(adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await eventually(
      'the tail to connect',
      async () => (await page.getByTestId('tail-status').textContent()) === 'live',
    );
    expect(logger('tcp', K.tcp, `keyed tail ${tag}`).status).toBe(0);
    await eventually(
      'the event in the tail',
      async () => (await page.getByTestId('tail-row').count()) === 1,
      20_000,
    );
    await context.close();
  });
});
