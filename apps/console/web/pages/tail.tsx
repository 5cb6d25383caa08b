import { useEffect, useRef, useState } from 'preact/hooks';
import { sessionKey, type Whoami } from '../api';
import { EventHead, EventRows } from '../components/event-detail';
import { FilterForm } from '../components/filter-form';
import { missingScope, ScopeNote } from '../components/notice';
import { apiQuery, paramsFromValues, valuesFromParams } from '../filters';
import { navigate } from '../route';
import { SHOWN, type TailFrame, type ToWorker } from '../tail-protocol';

const initial: TailFrame = { rows: [], received: 0, skipped: 0, dropped: 0, rate: 0, status: 'connecting' };

/**
 * The live tail. A worker (tail-worker.ts) holds the WebSocket, parses and counts every message and
 * hands this page the newest rows four times a second at most, so at 20,000 events/s the page does a
 * few small DOM updates a second instead of 20,000 — the rest are counted as not drawn, and the page
 * says so.
 */
export function TailPage({ params, me }: { params: URLSearchParams; me: Whoami | null }) {
  const key = params.toString();
  const [state, setState] = useState<TailFrame>(initial);
  const [paused, setPaused] = useState(false);
  const [open, setOpen] = useState<string | null>(null);
  const worker = useRef<Worker | null>(null);
  const noTail = missingScope(me, 'tail');

  useEffect(() => {
    if (noTail !== null || me === null) return;
    const w = new Worker(new URL('./tail-worker.js', location.href), { type: 'module' });
    worker.current = w;
    w.onmessage = (e: MessageEvent<TailFrame>) => setState(e.data);
    const proto = location.protocol === 'https:' ? 'wss' : 'ws';
    const token = sessionKey();
    const msg: ToWorker = {
      type: 'open',
      url: `${proto}://${location.host}/api/v1/tail?${apiQuery(params, false)}`,
      protocols: token === null ? [] : ['siem.tail', `siem.bearer.${token}`],
    };
    w.postMessage(msg);
    setPaused(false);
    return () => {
      w.postMessage({ type: 'close' } satisfies ToWorker);
      worker.current = null;
    };
  }, [key, noTail, me]);

  const togglePause = () => {
    const next = !paused;
    setPaused(next);
    worker.current?.postMessage({ type: 'pause', paused: next } satisfies ToWorker);
  };

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
        <button type="button" data-testid="pause" onClick={togglePause}>
          {paused ? 'Resume' : 'Pause'}
        </button>
        <span data-testid="tail-status">{paused ? 'paused' : state.status}</span>
        <span data-testid="tail-rate">{state.rate.toFixed(0)} events/s</span>
        <span data-testid="tail-received">{state.received} received</span>
        <span
          data-testid="tail-skipped"
          title={`arrived faster than the table redraws (or while paused): counted, not drawn; the newest ${SHOWN} are kept`}
        >
          {state.skipped} not drawn
        </span>
        <span data-testid="tail-dropped" class={state.dropped > 0 ? 'bad' : ''}>
          {state.dropped} dropped by the server (browser behind)
        </span>
      </div>
      <table class="events fixed" data-testid="tail-rows">
        <thead>
          <EventHead />
        </thead>
        <tbody>
          <EventRows rows={state.rows} open={open} onToggle={setOpen} testId="tail-row" />
        </tbody>
      </table>
    </div>
  );
}
