/**
 * What arrived on the far side: this run's stored events, counted through the API's histogram
 * filtered on the run's marker names (host names or user names stamped into every event), so other
 * traffic on the same gateway does not count.
 */

export function markerNames(runId: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `lt-${runId}-${i}`);
}

export function histogramUrl(
  apiBase: string,
  marker: 'host' | 'user',
  names: readonly string[],
  now: number,
): string {
  const p = new URLSearchParams();
  for (const n of names) p.append(marker, n);
  // event times come from the payloads (fixture samples carry old ones): count every week since 2000
  p.set('from', '2000-01-01T00:00:00Z');
  p.set('to', new Date(now + 400 * 86_400_000).toISOString());
  p.set('interval', '1w');
  return `${apiBase}/api/v1/events/histogram?${p}`;
}

export async function storedCount(url: string, apiKey: string | null): Promise<number> {
  const res = await fetch(url, { headers: apiKey === null ? {} : { authorization: `Bearer ${apiKey}` } });
  const body = await res.text();
  if (res.status !== 200)
    throw new Error(`GET ${url.split('?')[0]}: HTTP ${res.status} ${body.slice(0, 200)}`);
  return (JSON.parse(body) as { total: number }).total;
}

/**
 * Polls until `expected` events are stored and the count holds still (more than expected is a
 * duplicate the summary must show). Storage may lag the intake by minutes on a busy machine: the wait
 * goes on while the count grows, and gives up after `settleMs` without progress. A failed poll (the
 * database busy: 503) is retried; only when none succeeds is the run's count unknown.
 */
export async function waitForStored(
  count: () => Promise<number>,
  expected: number,
  settleMs: number,
  pollMs = 2000,
): Promise<number> {
  let deadline = Date.now() + settleMs;
  let last: number | null = null;
  let lastError: unknown = null;
  for (;;) {
    try {
      const now = await count();
      if (now >= expected && now === last) return now;
      if (last === null || now > last) deadline = Date.now() + settleMs;
      last = now;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) {
      if (last === null)
        throw new Error(`the far-side count never answered: ${(lastError as Error)?.message}`);
      return last;
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
