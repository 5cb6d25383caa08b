/**
 * The search page over 10,000,000 stored rows: how long until the first page of rows and the histogram
 * are on screen, next to what the API itself takes for the same two requests.
 *
 * The rows are synthetic (@siem/storage loadSyntheticEvents: 10 tenants × 20 hosts, 12 event kinds,
 * 30 days) in a database of the benchmark's own on the local stack's PostgreSQL, dropped at the end
 * (SIEM_BENCH_KEEP_DB=<name> keeps and reuses one; SIEM_BENCH_ROWS sets the size). A keyless API server
 * in this process (default query options) serves the built console; headless Chromium (Debian's,
 * through playwright-core) opens `#/search?…` afresh for each iteration. In the page, a probe records
 * when the first result row and the histogram total appear; the browser's Resource Timing gives the
 * two API requests' durations as the page saw them. The API's own latency, measured from Node in the
 * same run with the same queries, is the peer: "render" is what the page adds after its data arrived.
 *
 *   npm run stack -- up
 *   node --conditions=source --import tsx apps/console/bench/search-render.bench.ts
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { stackUrls } from '@siem/local-stack';
import { type BenchRow, writeBenchReport } from '@siem/observability';
import { createPool, SYNTHETIC_EVENTS, syntheticEventsDatabase } from '@siem/storage';
import type { Page } from 'playwright-core';
import { launchChromium } from '../src/test-support.js';
import { startBenchApi } from './server.js';

const ROWS = Number(process.env.SIEM_BENCH_ROWS ?? SYNTHETIC_EVENTS.rows);
const KEEP = process.env.SIEM_BENCH_KEEP_DB ?? null;
const DB = KEEP ?? `siem_consolebench_${randomBytes(4).toString('hex')}`;
const ITERATIONS = Number(process.env.SIEM_BENCH_ITERATIONS ?? 10);
const { end: END } = SYNTHETIC_EVENTS;
const H = 3_600_000;
const log = (line: string) => process.stderr.write(`[search-render] ${line}\n`);

interface Case {
  name: string;
  /** The page's query (its filters and a custom range). */
  params: Record<string, string>;
  hours: number;
}

const cases: Case[] = [
  { name: 'one tenant, last 1 h', params: { tenant: 'tenant-3' }, hours: 1 },
  { name: 'one tenant + host, last 7 d', params: { tenant: 'tenant-4', host: 'host-85' }, hours: 7 * 24 },
  { name: 'all tenants, last 24 h', params: {}, hours: 24 },
  { name: 'all tenants, 30 d', params: {}, hours: 30 * 24 },
  {
    name: 'one tenant + outcome=failure + category, 30 d',
    params: { tenant: 'tenant-1', outcome: 'failure', category: 'authentication' },
    hours: 30 * 24,
  },
  { name: 'one tenant + text, last 24 h', params: { tenant: 'tenant-2', q: 'user77' }, hours: 24 },
];

/**
 * In the page: when the first result row and the histogram chart are on screen (ms since navigation).
 * A mutation only puts them in the DOM; the time is taken after the next frame has been laid out and
 * painted (requestAnimationFrame, then a task), and for the histogram once its uPlot canvas exists.
 */
const PROBE = `
  window.__search = { rows: null, histogram: null };
  const painted = (key) => requestAnimationFrame(() => setTimeout(() => {
    if (window.__search[key] === null) window.__search[key] = performance.now();
  }));
  let seen = { rows: false, histogram: false };
  new MutationObserver(() => {
    if (!seen.rows && document.querySelector('[data-testid="results"] tbody tr')) { seen.rows = true; painted('rows'); }
    if (!seen.histogram && document.querySelector('[data-testid="histogram-total"]')
        && document.querySelector('.histogram canvas, [data-testid="histogram"] canvas')) {
      seen.histogram = true; painted('histogram');
    }
  }).observe(document, { childList: true, subtree: true });
`;

interface Sample {
  rowsShown: number;
  histogramShown: number;
  /** Resource Timing of the two API requests: duration, and when the later one ended. */
  eventsMs: number;
  histogramMs: number;
  dataEnd: number;
  /** When the page sent them: the cost of loading the page, its script and the key check. */
  requestsStart: number;
  /** The two requests' URLs, replayed from Node for the API's own latency. */
  urls: { events: string; histogram: string };
}

async function openOnce(page: Page, url: string): Promise<Sample> {
  await page.goto('about:blank');
  await page.goto(url);
  // polled with plain evaluations: the console's CSP forbids the eval behind waitForFunction. The
  // figures are the probe's own timestamps, so the polling interval does not enter them.
  const deadline = Date.now() + 120_000;
  for (;;) {
    const s = (await page.evaluate('window.__search')) as
      | { rows: number | null; histogram: number | null }
      | undefined;
    if (s !== undefined && s.rows !== null && s.histogram !== null) break;
    if (Date.now() > deadline) throw new Error(`${url}: no rows and histogram on screen within 120 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return (await page.evaluate(`(() => {
    const api = performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/v1/events'));
    const events = api.find((e) => !e.name.includes('/histogram'));
    const histogram = api.find((e) => e.name.includes('/histogram'));
    return {
      rowsShown: window.__search.rows,
      histogramShown: window.__search.histogram,
      eventsMs: events.responseEnd - events.startTime,
      histogramMs: histogram.responseEnd - histogram.startTime,
      dataEnd: Math.max(events.responseEnd, histogram.responseEnd),
      requestsStart: Math.min(events.startTime, histogram.startTime),
      urls: { events: events.name, histogram: histogram.name },
    };
  })()`)) as Sample;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length / 2;
  const m = s.length % 2 === 1 ? s[Math.floor(mid)]! : (s[mid - 1]! + s[mid]!) / 2;
  return Math.round(m * 10) / 10;
};

/** The API's own latency: the page's two requests, replayed from Node one after the other. */
async function apiLatency(
  name: string,
  urls: Sample['urls'],
): Promise<{ events: number; histogram: number }> {
  const time = async (url: string, into: number[], keep: boolean) => {
    const t = performance.now();
    const r = await fetch(url);
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`${name}: ${url} answered ${r.status}`);
    if (keep) into.push(performance.now() - t);
  };
  const ev: number[] = [];
  const hi: number[] = [];
  for (let i = 0; i < ITERATIONS + 2; i++) {
    await time(urls.events, ev, i >= 2);
    await time(urls.histogram, hi, i >= 2);
  }
  return { events: median(ev), histogram: median(hi) };
}

async function main(): Promise<void> {
  const build = spawnSync(process.execPath, [fileURLToPath(new URL('../build.mjs', import.meta.url))], {
    encoding: 'utf8',
  });
  if (build.status !== 0) throw new Error(`console build failed: ${build.stderr}`);
  const db = await syntheticEventsDatabase(stackUrls.postgres, {
    rows: ROWS,
    name: DB,
    keep: KEEP !== null,
    log,
  });
  const pool = createPool({ url: db.url, size: 4 });
  try {
    const { server, base } = await startBenchApi({ pool, schema: 'siem' });
    const chrome = await launchChromium();
    const browser = chrome.browser;
    const out: BenchRow[] = [];
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      await page.addInitScript(PROBE);
      for (const c of cases) {
        const from = new Date(END - c.hours * H).toISOString();
        const to = new Date(END).toISOString();
        const url = `${base}/console/#/search?${new URLSearchParams({ ...c.params, from, to })}`;
        const samples: Sample[] = [];
        for (let i = 0; i < ITERATIONS + 2; i++) {
          const s = await openOnce(page, url);
          if (i >= 2) samples.push(s);
        }
        const shown = await page.getByTestId('histogram-total').textContent();
        const direct = await apiLatency(c.name, samples[0]!.urls);
        const row: BenchRow = {
          case: c.name,
          iterations: samples.length,
          page_rows_shown_p50_ms: median(samples.map((s) => s.rowsShown)),
          page_histogram_shown_p50_ms: median(samples.map((s) => s.histogramShown)),
          page_requests_sent_p50_ms: median(samples.map((s) => s.requestsStart)),
          browser_events_request_p50_ms: median(samples.map((s) => s.eventsMs)),
          browser_histogram_request_p50_ms: median(samples.map((s) => s.histogramMs)),
          render_after_data_p50_ms: median(
            samples.map((s) => Math.max(s.rowsShown, s.histogramShown) - s.dataEnd),
          ),
          api_events_p50_ms: direct.events,
          api_histogram_p50_ms: direct.histogram,
          histogram_total: Number((shown ?? '').replace(/[^\d]/g, '')),
        };
        out.push(row);
        log(
          `${c.name}: rows on screen ${row.page_rows_shown_p50_ms} ms, API ${direct.events} + ${direct.histogram} ms`,
        );
      }
    } finally {
      await chrome.close();
      await server.close();
    }
    const size = await pool.query<{ s: string }>(
      "select pg_size_pretty(sum(pg_total_relation_size(c.oid))) as s from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'siem'",
    );
    writeBenchReport({
      name: 'console-search-render',
      description:
        `The console's search page over ${ROWS.toLocaleString('en-US')} stored rows (${size.rows[0]!.s}, PostgreSQL 15 layout, ` +
        'synthetic: 10 tenants × 20 hosts, 30 days), opened afresh in headless Debian Chromium for each iteration: ' +
        'time from navigation until the first result row and the histogram total are on screen, and until the page sent its two requests (page_*), the two API ' +
        'requests as the browser timed them (browser_*), what the page took after both answered (render_after_data), ' +
        'and the same API requests from Node in the same run (api_*: the API’s own latency, the peer). ' +
        'node --conditions=source --import tsx apps/console/bench/search-render.bench.ts',
      rows: out,
      notes: [
        `load of the rows: ${db.loadMs === null ? 'not recorded' : `${Math.round(db.loadMs / 1000)} s`}`,
        'The page sends both requests at once (the first page of 200 rows and the histogram at about 90 buckets) and draws when both have answered. page_* counts from navigation: the page is loaded from the API server each time, its hashed script from the browser cache after the first of the two warm-up iterations (as a returning user has it). The shown times are taken after the frame holding the rows (and the histogram canvas) was painted.',
        'Shared 2-core machine: the browser, the API and PostgreSQL share the cores; compare rows within this run.',
      ],
    });
  } finally {
    await pool.end();
    await db.drop();
  }
}

await main();
