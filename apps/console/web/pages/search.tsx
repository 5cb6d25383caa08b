import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type uPlot from 'uplot';
import { api, type EventsPage, type Histogram, type NormalizedEvent, type Whoami } from '../api';
import { Chart } from '../components/chart';
import { EventHead, EventRows } from '../components/event-detail';
import { FilterForm } from '../components/filter-form';
import { ErrorNote, missingScope, ScopeNote } from '../components/notice';
import { apiQuery, intervalFor, paramsFromValues, rangeOf, valuesFromParams } from '../filters';
import { navigate } from '../route';

const PAGE = 200;
/**
 * Rows kept in the table. Endless scrolling appends pages through the cursor; past this many rows the
 * table asks for a narrower search instead of growing the DOM without bound (each page is cheap to
 * fetch at any depth: the cursor is a keyset, not an offset).
 */
const MAX_ROWS = 5000;

export function SearchPage({ params, me }: { params: URLSearchParams; me: Whoami | null }) {
  const key = params.toString();
  const [rows, setRows] = useState<NormalizedEvent[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [total, setTotal] = useState<{ n: number | null; exact: boolean } | null>(null);
  const [hist, setHist] = useState<Histogram | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const [open, setOpen] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const sentinel = useRef<HTMLDivElement>(null);
  const busy = useRef(false);
  const noRead = missingScope(me, 'read');
  // the range is resolved once per search, so the histogram, the first page and the next pages agree
  const query = useMemo(() => apiQuery(params, true), [key]);

  useEffect(() => {
    if (noRead !== null) return;
    let stale = false;
    setRows([]);
    setNext(null);
    setHist(null);
    setTotal(null);
    setError(null);
    setOpen(null);
    setLoading(true);
    const { fromMs, toMs } = rangeOf(params);
    const iv = intervalFor(toMs - fromMs);
    const h = new URLSearchParams(query);
    h.set('interval', iv.text);
    const first = new URLSearchParams(query);
    first.set('limit', String(PAGE));
    Promise.all([api<EventsPage>(`/api/v1/events?${first}`), api<Histogram>(`/api/v1/events/histogram?${h}`)])
      .then(([page, histogram]) => {
        if (stale) return;
        setRows(page.data);
        setNext(page.next);
        setTotal({ n: page.total, exact: page.total_exact });
        setHist(histogram);
        setNote(page.truncated === null ? null : 'a page stopped at the byte budget: scrolling continues it');
      })
      .catch((e) => !stale && setError(e))
      .finally(() => !stale && setLoading(false));
    return () => {
      stale = true;
    };
  }, [key, noRead]);

  const loadMore = async () => {
    if (next === null || busy.current || rows.length >= MAX_ROWS) return;
    busy.current = true;
    try {
      const q = new URLSearchParams(query);
      q.set('limit', String(PAGE));
      q.set('next', next);
      const page = await api<EventsPage>(`/api/v1/events?${q}`);
      setRows((r) => [...r, ...page.data]);
      setNext(page.next);
    } catch (e) {
      setError(e);
    } finally {
      busy.current = false;
    }
  };

  useEffect(() => {
    const el = sentinel.current;
    if (el === null || next === null) return;
    const io = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) void loadMore();
    });
    io.observe(el);
    return () => io.disconnect();
  });

  const chart = useMemo(() => {
    if (hist === null) return null;
    const xs = hist.buckets.map((b) => Date.parse(b.time) / 1000);
    const ys = hist.buckets.map((b) => b.count);
    return { labels: ['events'], data: [xs, ys] as uPlot.AlignedData };
  }, [hist]);

  if (noRead !== null) return <ScopeNote text={noRead} />;
  const narrow = (fromMs: number, toMs: number) => {
    const p = new URLSearchParams(params);
    p.delete('range');
    p.set('from', new Date(fromMs).toISOString());
    p.set('to', new Date(toMs).toISOString());
    navigate('search', p);
  };
  return (
    <div class="search">
      <FilterForm
        key={key}
        values={valuesFromParams(params)}
        withRange
        submitLabel="Search"
        onSubmit={(v) => navigate('search', paramsFromValues(v))}
      />
      <ErrorNote error={error} />
      {hist !== null && chart !== null && (
        <div class="histogram">
          <p>
            <strong data-testid="histogram-total">{hist.total.toLocaleString('en')}</strong> events from{' '}
            {hist.from} to {hist.to} (per {hist.interval}); drag across the chart to narrow the range.
          </p>
          <Chart title="Events over time" bars testId="histogram" onSelect={narrow} {...chart} />
        </div>
      )}
      <p class="summary" data-testid="result-summary">
        {loading
          ? 'Searching…'
          : `${rows.length} shown${total?.n == null ? '' : ` of ${total.exact ? '' : 'at least '}${total.n}`}`}
        {note === null ? '' : ` (${note})`}
      </p>
      <table class="events fixed" data-testid="results">
        <thead>
          <EventHead />
        </thead>
        <tbody>
          <EventRows rows={rows} open={open} onToggle={setOpen} testId="event-row" />
        </tbody>
      </table>
      {next !== null && rows.length < MAX_ROWS && (
        <div ref={sentinel} class="more">
          <button type="button" onClick={() => void loadMore()}>
            Load more
          </button>
        </div>
      )}
      {rows.length >= MAX_ROWS && (
        <p class="hint">{MAX_ROWS} rows shown: narrow the search to see further.</p>
      )}
    </div>
  );
}
