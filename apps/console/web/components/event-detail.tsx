import { Fragment } from 'preact';
import type { NormalizedEvent } from '../api';

/** The whole normalized event: its columns, its attrs and its raw payload as received. */
export function EventDetail({ event }: { event: NormalizedEvent }) {
  const { attrs, raw, ...columns } = event;
  return (
    <div class="detail" data-testid="event-detail">
      <section>
        <h4>Event</h4>
        <pre>{JSON.stringify(columns, null, 2)}</pre>
      </section>
      <section>
        <h4>attrs</h4>
        <pre>{JSON.stringify(attrs, null, 2)}</pre>
      </section>
      <section>
        <h4>Raw payload</h4>
        <pre class="raw" data-testid="raw-payload">
          {raw}
        </pre>
      </section>
    </div>
  );
}

/** UTC to the millisecond, whatever form the time came in (the tail sends it as stored). */
function timeText(t: string): string {
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? t : d.toISOString().replace('T', ' ').slice(0, 23);
}

export const severityLabel = (n: number) =>
  ['emerg', 'alert', 'crit', 'error', 'warn', 'notice', 'info', 'debug'][n] ?? String(n);

/** The table's columns (ECS-aligned), shared by the search and the tail. */
export function EventCells({ e }: { e: NormalizedEvent }) {
  return (
    <>
      <td class="time">{timeText(e.time)}</td>
      <td class={`sev sev${e.severity}`}>{severityLabel(e.severity)}</td>
      <td>{e.hostName ?? e.hostIp ?? ''}</td>
      <td>{e.sourceType}</td>
      <td>{e.category}</td>
      <td>{e.action ?? ''}</td>
      <td>{e.outcome}</td>
      <td>{e.userName ?? ''}</td>
      <td>{e.srcIp ?? ''}</td>
      <td>{e.dstIp ?? ''}</td>
      <td class="msg">{e.message ?? ''}</td>
    </>
  );
}

export function EventHead() {
  return (
    <tr>
      {[
        'Time (UTC)',
        'Sev',
        'Host',
        'Source',
        'Category',
        'Action',
        'Outcome',
        'User',
        'Src IP',
        'Dst IP',
        'Message',
      ].map((h) => (
        <th key={h}>{h}</th>
      ))}
    </tr>
  );
}

/**
 * Table rows of events, one per event, newest first as given; a click opens the whole event below
 * its row (search and tail share it).
 */
export function EventRows({
  rows,
  open,
  onToggle,
  testId,
}: {
  rows: readonly NormalizedEvent[];
  open: string | null;
  onToggle: (eventId: string | null) => void;
  testId: string;
}) {
  return (
    <>
      {rows.map((e) => (
        <Fragment key={e.eventId}>
          <tr
            class={`row${open === e.eventId ? ' open' : ''}`}
            data-testid={testId}
            onClick={() => onToggle(open === e.eventId ? null : e.eventId)}
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
    </>
  );
}
