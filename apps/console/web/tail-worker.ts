/**
 * The live tail's receiving side, off the page's main thread: the WebSocket, JSON parsing of every
 * message (at 20,000 events/s, about 14 MB of JSON a second) and the counting happen here; the page
 * gets, four times a second at most, the newest rows to draw and the counters. A tab that cannot
 * keep up therefore still scrolls and clicks; what it does not draw is counted, and what the server
 * did not send (its `dropped` notices) is counted apart.
 */
import type { NormalizedEvent } from './api';
import { FULL_FRAME_MS, RENDER_MS, SHOWN, type TailFrame, type ToWorker } from './tail-protocol';

interface WorkerScope {
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  postMessage(frame: TailFrame): void;
  close(): void;
}

const scope = self as unknown as WorkerScope;
let ws: WebSocket | null = null;
let paused = false;
let pending: NormalizedEvent[] = [];
let shown: NormalizedEvent[] = [];
let received = 0;
let skipped = 0;
let dropped = 0;
let windowCount = 0;
let windowStart = performance.now();
let rate = 0;
let status = 'connecting';
let dirty = true;
let lastFullFrame = 0;

function open(url: string, protocols: string[]): void {
  ws = new WebSocket(url, protocols);
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
      if (pending.length > 4 * SHOWN) {
        skipped += pending.length - SHOWN;
        pending = pending.slice(-SHOWN);
      }
      dirty = true;
    } else if (msg.type === 'dropped') {
      dropped += msg.count ?? 0;
      dirty = true;
    }
  };
}

setInterval(() => {
  const now = performance.now();
  if (now - windowStart >= 1000) {
    rate = (windowCount * 1000) / (now - windowStart);
    windowCount = 0;
    windowStart = now;
    dirty = true;
  }
  if (!dirty) return;
  // a stream that replaces every row each frame is unreadable anyway: redraw it once a second only
  if (!paused && pending.length >= SHOWN && now - lastFullFrame < FULL_FRAME_MS) return;
  if (!paused && pending.length > 0) {
    if (pending.length >= SHOWN) lastFullFrame = now;
    const fresh = pending.reverse();
    pending = [];
    if (fresh.length > SHOWN) skipped += fresh.length - SHOWN;
    shown =
      fresh.length >= SHOWN ? fresh.slice(0, SHOWN) : [...fresh, ...shown.slice(0, SHOWN - fresh.length)];
  } else if (paused && pending.length > SHOWN) {
    skipped += pending.length - SHOWN;
    pending = pending.slice(-SHOWN);
  }
  dirty = false;
  scope.postMessage({ rows: shown, received, skipped, dropped, rate, status });
}, RENDER_MS);

scope.onmessage = (e) => {
  const m = e.data;
  if (m.type === 'open') open(m.url, m.protocols);
  else if (m.type === 'pause') {
    paused = m.paused;
    dirty = true;
  } else {
    ws?.close(1000);
    scope.close();
  }
};
