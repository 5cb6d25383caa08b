/**
 * The live tail page at 20,000 events/s: does the tab keep up without freezing?
 *
 * A real API server in this process (keyless, default tail options) serves the built console; its
 * TailHub is fed with `publishStored` — the call the normalizing sink makes — in batches of 200 rows
 * every 10 ms. Headless Chromium (Debian's, through playwright-core) opens `#/tail` and, for the run,
 * the page itself records main-thread long tasks (PerformanceObserver 'longtask', > 50 ms) and the
 * longest gap between animation frames. Reported: events offered, received by the page, drawn vs
 * counted as not drawn, dropped by the server for this client, frame gaps, long tasks.
 *
 * The peer in the same run is the naive page: the same stream rendered one DOM row per event as it
 * arrives (no batching), in the same browser, so the difference is the console's render batching.
 *
 *   node --conditions=source --import tsx apps/console/bench/tail-render.bench.ts
 *   (SIEM_BENCH_SECONDS, default 10; SIEM_BENCH_RATE, default 20000)
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ApiServer } from '@siem/api';
import type { NormalizedEvent } from '@siem/core';
import { type BenchRow, writeBenchReport } from '@siem/observability';
import type { Page } from 'playwright-core';
import { launchChromium } from '../src/test-support.js';
import { startBenchApi } from './server.js';

const SECONDS = Number(process.env.SIEM_BENCH_SECONDS ?? 10);
const RATE = Number(process.env.SIEM_BENCH_RATE ?? 20_000);
const TICK_MS = 10;
const PER_TICK = Math.round((RATE * TICK_MS) / 1000);

function rows(n: number, start: number): NormalizedEvent[] {
  const now = new Date().toISOString();
  return Array.from({ length: n }, (_, k) => {
    const i = start + k;
    return {
      time: now,
      receivedAt: now,
      tenantId: 'default',
      eventId: `01948c2e-0000-7000-8000-${i.toString(16).padStart(12, '0')}`,
      sourceType: 'syslog',
      hostName: `web-${i % 50}`,
      hostIp: '192.168.1.10',
      appName: 'sshd',
      severity: i % 8,
      category: 'authentication',
      action: 'login',
      outcome: i % 3 === 0 ? 'failure' : 'success',
      userName: `user${i % 200}`,
      srcIp: `10.1.${(i >> 8) & 255}.${i & 255}`,
      srcPort: 50_000 + (i % 1000),
      dstIp: '10.0.0.1',
      dstPort: 22,
      processName: 'sshd',
      processPid: 1234,
      eventCode: null,
      message: `Failed password for user${i % 200} from 10.1.${(i >> 8) & 255}.${i & 255} port ${50_000 + (i % 1000)} ssh2`,
      attrs: { seq: i },
      raw: `<38>1 ${now} web-${i % 50} sshd 1234 - - Failed password for user${i % 200}`,
      classUid: null,
    } as NormalizedEvent;
  });
}

/** Installed before any page script: long tasks and the longest gap between animation frames. */
const PROBE = `
  window.__bench = { longTasks: 0, longTaskMs: 0, maxFrameGapMs: 0, frames: 0 };
  new PerformanceObserver((l) => { for (const e of l.getEntries()) { __bench.longTasks++; __bench.longTaskMs += e.duration; } })
    .observe({ type: 'longtask', buffered: true });
  let last = performance.now();
  const frame = (t) => { __bench.maxFrameGapMs = Math.max(__bench.maxFrameGapMs, t - last); last = t; __bench.frames++; requestAnimationFrame(frame); };
  requestAnimationFrame(frame);
`;

/** The naive page: every event becomes a table row as its message arrives (kept to the newest 500). */
const NAIVE = `<!doctype html><table><tbody id="b"></tbody></table><script>
  window.__naive = { received: 0, dropped: 0 };
  const ws = new WebSocket(location.origin.replace('http', 'ws') + '/api/v1/tail');
  const b = document.getElementById('b');
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    if (msg.type === 'dropped') __naive.dropped += msg.count;
    if (msg.type !== 'events') return;
    for (const e of msg.events) {
      __naive.received++;
      const tr = document.createElement('tr');
      for (const v of [e.time, e.severity, e.hostName, e.sourceType, e.category, e.action, e.outcome, e.userName, e.srcIp, e.dstIp, e.message]) {
        const td = document.createElement('td'); td.textContent = String(v ?? ''); tr.appendChild(td);
      }
      b.insertBefore(tr, b.firstChild);
      if (b.childElementCount > 500) b.lastChild.remove();
      void b.offsetHeight; // what a naive list does: lay out per event (e.g. to keep the scroll position)
    }
  };
</script>`;

async function publishFor(server: ApiServer, seconds: number): Promise<number> {
  let sent = 0;
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.floor(((performance.now() - started) / 1000) * RATE);
      const n = Math.min(due - sent, PER_TICK * 5);
      if (n > 0) {
        server.publishStored(rows(n, sent));
        sent += n;
      }
      if (performance.now() - started >= seconds * 1000) {
        clearInterval(timer);
        resolve();
      }
    }, TICK_MS);
  });
  return sent;
}

async function probe(page: Page): Promise<Record<string, number>> {
  return (await page.evaluate('window.__bench')) as Record<string, number>;
}

/** The bench API server, serving the naive page beside the console. */
function startServer(): Promise<{ server: ApiServer; base: string }> {
  return startBenchApi(null, (app) =>
    app.get('/naive', { config: { access: { scope: 'public' } } }, async (_req, reply) =>
      reply.type('text/html').send(NAIVE),
    ),
  );
}

const num = async (page: Page, id: string) =>
  Number(((await page.getByTestId(id).textContent()) ?? '').replace(/[^\d]/g, '') || 0);

/** One run: a fresh server and browser, the page opened, the stream offered, the page's figures. */
async function run(naive: boolean): Promise<BenchRow> {
  const { server, base } = await startServer();
  const chrome = await launchChromium();
  const browser = chrome.browser;
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.addInitScript(PROBE);
    if (naive) {
      await page.goto(`${base}/naive`);
      await page.waitForFunction('window.__naive !== undefined');
      await new Promise((r) => setTimeout(r, 500)); // the socket open
    } else {
      await page.goto(`${base}/console/#/tail`);
      await page.getByTestId('tail-status').getByText('live').waitFor({ timeout: 30_000 });
    }
    const before = await probe(page);
    const offered = await publishFor(server, SECONDS);
    await new Promise((r) => setTimeout(r, 1000)); // the last messages in, one more redraw
    const p = await probe(page);
    const n = naive
      ? ((await page.evaluate('window.__naive')) as { received: number; dropped: number })
      : null;
    return {
      case: `${naive ? 'peer: naive page, one DOM row per event' : 'console tail page'}, ${RATE.toLocaleString('en-US')} events/s offered`,
      offered_events: offered,
      received_by_page: n?.received ?? (await num(page, 'tail-received')),
      not_drawn: n === null ? await num(page, 'tail-skipped') : 0,
      dropped_by_server: n?.dropped ?? (await num(page, 'tail-dropped')),
      long_tasks: p.longTasks! - before.longTasks!,
      long_task_ms_total: Math.round(p.longTaskMs! - before.longTaskMs!),
      max_frame_gap_ms: Math.round(p.maxFrameGapMs!),
      frames_per_s: Math.round((p.frames! - before.frames!) / (SECONDS + 1)),
    };
  } finally {
    await browser.close();
    await server.close();
  }
}

async function main(): Promise<void> {
  const build = spawnSync(process.execPath, [fileURLToPath(new URL('../build.mjs', import.meta.url))], {
    encoding: 'utf8',
  });
  if (build.status !== 0) throw new Error(`console build failed: ${build.stderr}`);
  const rows = [await run(false), await run(true)];
  writeBenchReport({
    name: 'console-tail-render',
    description:
      `The console's live tail page in headless Chromium while the API's TailHub is fed ${RATE} events/s ` +
      `(publishStored, ${PER_TICK} rows every ${TICK_MS} ms) for ${SECONDS} s, against a naive page that adds one ` +
      'DOM row per event. Long tasks: main-thread tasks over 50 ms; frame gap: the longest time between two ' +
      'animation frames (a frozen tab shows as seconds). node --conditions=source --import tsx apps/console/bench/tail-render.bench.ts',
    rows,
    notes: [
      'Server, browser and publisher share the machine (2 cores): the page competes with the server for CPU.',
      'dropped_by_server: events the TailHub did not send because this client fell behind (tail.queue_events); the page is told how many.',
      'not_drawn: events the console received but did not draw because more than 500 arrived between two redraws (every 250 ms).',
    ],
  });
}

await main();
