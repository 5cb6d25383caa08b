import { Fragment } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { type AdapterView, api, type Whoami } from '../api';
import { ErrorNote, missingScope, ScopeNote } from '../components/notice';
import { AdapterConfig } from './adapter-config';

export function AdaptersPage({ me }: { me: Whoami | null }) {
  const [list, setList] = useState<AdapterView[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const noRead = missingScope(me, 'read');
  const noAdmin = missingScope(me, 'admin');

  const [rates, setRates] = useState<Record<string, number | null>>({});
  const refresh = () =>
    Promise.all([
      api<{ data: AdapterView[] }>('/api/v1/adapters').then((r) => setList(r.data)),
      // events/s over the last minute per adapter id, from the same stats as the overview
      api<{ adapters?: Record<string, { received_events?: { '1m'?: number | null } }> }>(
        '/api/v1/stats',
      ).then((s) =>
        setRates(
          Object.fromEntries(
            Object.entries(s.adapters ?? {}).map(([id, a]) => [id, a.received_events?.['1m'] ?? null]),
          ),
        ),
      ),
    ]).catch(setError);
  useEffect(() => {
    if (noRead !== null) return;
    void refresh();
    const t = setInterval(refresh, 2000);
    return () => clearInterval(t);
  }, [noRead]);

  if (noRead !== null) return <ScopeNote text={noRead} />;
  const act = async (id: string, action: 'start' | 'stop') => {
    setBusy(id);
    setError(null);
    try {
      await api<AdapterView>(`/api/v1/adapters/${id}/${action}`, { method: 'POST' });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
      await refresh();
    }
  };
  return (
    <div class="adapters">
      {noAdmin !== null && (
        <p class="scope" role="alert" data-testid="scope-missing">
          Read only: starting, stopping and reconfiguring adapters is refused. {noAdmin}
        </p>
      )}
      <ErrorNote error={error} />
      <table>
        <thead>
          <tr>
            <th>Adapter</th>
            <th>Type</th>
            <th>State</th>
            <th>Listen</th>
            <th>Received</th>
            <th>Events/s (1 min)</th>
            <th>Errors</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(list ?? []).map((a) => (
            <Fragment key={a.id}>
              <tr data-testid={`adapter-${a.id}`}>
                <td>{a.id}</td>
                <td>{a.type}</td>
                <td class={`state ${a.state}`} data-testid="state">
                  {a.state}
                  {a.error ? `: ${a.error}` : ''}
                </td>
                <td>{a.listen ?? ''}</td>
                <td>{a.counters.received_events ?? 0}</td>
                <td data-testid="rate">{rates[a.id] == null ? '–' : rates[a.id]!.toFixed(1)}</td>
                <td>{a.counters.errors ?? 0}</td>
                <td class="buttons">
                  <button
                    type="button"
                    disabled={noAdmin !== null || busy === a.id || a.state === 'running'}
                    onClick={() => act(a.id, 'start')}
                  >
                    Start
                  </button>
                  <button
                    type="button"
                    disabled={noAdmin !== null || busy === a.id || a.state !== 'running'}
                    onClick={() => act(a.id, 'stop')}
                  >
                    Stop
                  </button>
                  <button type="button" onClick={() => setEditing(editing === a.id ? null : a.id)}>
                    Configure
                  </button>
                </td>
              </tr>
              {editing === a.id && (
                <tr>
                  <td colSpan={8}>
                    <AdapterConfig adapter={a} canAdmin={noAdmin === null} onApplied={() => void refresh()} />
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
