import { Fragment } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { type NormalizedEvent, sessionKey, type Whoami } from '../api';
import { EventCells, EventDetail, EventHead } from '../components/event-detail';
import { FilterForm } from '../components/filter-form';
import { missingScope, ScopeNote } from '../components/notice';
import { apiQuery, paramsFromValues, valuesFromParams } from '../filters';
import { navigate } from '../route';

/** Rows on screen; older ones scroll away. */
const SHOWN = 500;
/** The table is redrawn at most this often, however fast events arrive. */
const RENDER_MS = 250;

interface TailState {
  rows: NormalizedEvent[];
  received: number;
  /** Events that arrived but were never drawn: more than SHOWN between two redraws, or while paused. */
  skipped: number;
  /** Events the server dropped for this client because it fell behind (its `dropped` notices). */
  dropped: number;
  rate: number;
  status: string;
}

const initial: TailState = { rows: [], received: 0, skipped: 0, dropped: 0, rate: 0, status: 'connecting' };

/**
 * The live tail. Messages are only collected as they arrive; a timer draws the newest SHOWN events every
 * RENDER_MS, so at 20,000 events/s the tab does one small DOM update four times a second instead of
 * 20,000 — the rest are counted as not drawn (sampled), and the page says so.
 */
export function TailPage({ params, me }: { params: URLSearchParams; me: Whoami | null }) {
  const key = params.toString();
  const [state, setState] = useState<TailState>(initial);
  const [paused, setPaused] = useState(false);
  const [open, setOpen] = useState<string | null>(null);
  const pausedRef = useRef(false);
  pausedRef.current = paused;
  const noTail = missingScope(me, 'tail');

  useEffect(() => {
    if (noTail !== null || me === null) return;
    const pending: NormalizedEvent[] = [];
    let shown: NormalizedEvent[] = [];
    let received = 0;
    let skipped = 0;
    let dropped = 0;
    let windowCount = 0;
    let windowStart = performance.now();
    let rate = 0;
    let status = 'connecting';
    let dirty = true;
    const proto = location.protocol === 'https:' ? 'wss' : 'ws';
    const token = sessionKey();
    const ws = new WebSocket(
      `${proto}://${location.host}/api/v1/tail?${apiQuery(params, false)}`,
      token === null ? [] : ['siem.tail', `siem.bearer.${token}`],
    );
    ws.onopen = () => {
      status = 'live';
      dirty = true;
    };
    ws.onclose = (e) => {
      status = `closed${e.code === 1000 || e.code === 1005 ? '' : ` (${e.code}${e.reason ? `: ${e.reason}` : ''})`}`;
      dirty = true;
    };
    ws.onerror = () => {
      status = 'connection failed (is the key allowed to tail?)';
      dirty = true;
    };
    ws.onmessage = (m) => {
      const msg = JSON.parse(String(m.data)) as { type: string; events?: NormalizedEvent[]; count?: number };
      if (msg.type === 'events' && msg.events !== undefined) {
        received += msg.events.length;
        windowCount += msg.events.length;
        for (const e of msg.events) pending.push(e);
        if (pending.length > SHOWN) {
          skipped += pending.length - SHOWN;
          pending.splice(0, pending.length - SHOWN);
        }
        dirty = true;
      } else if (msg.type === 'dropped') {
        dropped += msg.count ?? 0;
        dirty = true;
      }
    };
    const timer = setInterval(() => {
      const now = performance.now();
      if (now - windowStart >= 1000) {
        rate = (windowCount * 1000) / (now - windowStart);
        windowCount = 0;
        windowStart = now;
        dirty = true;
      }
      if (!dirty) return;
      if (!pausedRef.current && pending.length > 0) {
        const fresh = pending.splice(0, pending.length).reverse();
        shown =
          fresh.length >= SHOWN ? fresh.slice(0, SHOWN) : [...fresh, ...shown.slice(0, SHOWN - fresh.length)];
      }
      dirty = false;
      setState({ rows: shown, received, skipped, dropped, rate, status });
    }, RENDER_MS);
    return () => {
      clearInterval(timer);
      ws.close(1000);
    };
  }, [key, noTail, me]);

  if (noTail !== null) return <ScopeNote text={noTail} />;
  return (
    <div class="tail">
      <FilterForm
        key={key}
        values={valuesFromParams(params)}
        withRange={false}
        submitLabel="Tail"
        onSubmit={(v) => {
          const p = paramsFromValues(v);
          p.delete('range');
          navigate('tail', p);
        }}
      />
      <div class="tail-bar">
        <button type="button" data-testid="pause" onClick={() => setPaused(!paused)}>
          {paused ? 'Resume' : 'Pause'}
        </button>
        <span data-testid="tail-status">{paused ? 'paused' : state.status}</span>
        <span data-testid="tail-rate">{state.rate.toFixed(0)} events/s</span>
        <span data-testid="tail-received">{state.received} received</span>
        <span
          data-testid="tail-skipped"
          title="arrived faster than the table redraws (or while paused): counted, not drawn"
        >
          {state.skipped} not drawn
        </span>
        <span data-testid="tail-dropped" class={state.dropped > 0 ? 'bad' : ''}>
          {state.dropped} dropped by the server (browser behind)
        </span>
      </div>
      <table class="events" data-testid="tail-rows">
        <thead>
          <EventHead />
        </thead>
        <tbody>
          {state.rows.map((e) => (
            <Fragment key={e.eventId}>
              <tr
                class="row"
                data-testid="tail-row"
                onClick={() => setOpen(open === e.eventId ? null : e.eventId)}
              >
                <EventCells e={e} />
              </tr>
              {open === e.eventId && (
                <tr class="expanded">
                  <td colSpan={11}>
                    <EventDetail event={e} />
                  </td>
                </tr>
              )}
            </Fragment>
          ))}
        </tbody>
      </table>
    </div>
  );
}
