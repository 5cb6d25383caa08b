import { Fragment } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { type AdapterView, ApiError, api, type Whoami } from '../api';
import { ErrorNote, missingScope, ScopeNote } from '../components/notice';

interface PropSchema {
  type?: string | string[];
  description?: string;
  enum?: unknown[];
  anyOf?: PropSchema[];
}

/** The JSON type a field edits: the first non-null type of the property's schema. */
function typeOf(s: PropSchema | undefined): string {
  if (s === undefined) return 'json';
  const types = Array.isArray(s.type) ? s.type : s.type !== undefined ? [s.type] : [];
  const fromAny = (s.anyOf ?? []).flatMap((a) => (Array.isArray(a.type) ? a.type : a.type ? [a.type] : []));
  const t = [...types, ...fromAny].find((x) => x !== 'null');
  return t === 'integer' || t === 'number'
    ? 'number'
    : t === 'boolean'
      ? 'boolean'
      : t === 'string'
        ? 'string'
        : 'json';
}

const SECRET = /(password|passphrase|secret|token|key_pem)$/i;

/**
 * The options of an adapter as a form, one field per option of its schema. The API validates the
 * whole change against that schema before applying it; every problem it reports is shown beside its
 * field, and a refused change leaves the running adapter as it was.
 */
function ConfigForm(props: { adapter: AdapterView; canAdmin: boolean; onApplied: (a: AdapterView) => void }) {
  const { adapter } = props;
  const [schema, setSchema] = useState<Record<string, PropSchema> | null>(null);
  const [values, setValues] = useState<Record<string, string>>(() =>
    Object.fromEntries(
      Object.entries(adapter.options).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
    ),
  );
  const [problems, setProblems] = useState<Record<string, string[]>>({});
  const [error, setError] = useState<unknown>(null);
  const [applied, setApplied] = useState(false);

  useEffect(() => {
    api<{ properties?: Record<string, PropSchema> }>(`/api/v1/adapters/${adapter.id}/schema`)
      .then((s) => setSchema(s.properties ?? {}))
      .catch(setError);
  }, [adapter.id]);

  const keys = [...new Set([...Object.keys(schema ?? {}), ...Object.keys(adapter.options)])].filter(
    (k) => k !== 'type',
  );
  const submit = async (e: Event) => {
    e.preventDefault();
    setProblems({});
    setError(null);
    setApplied(false);
    const body: Record<string, unknown> = {};
    const local: Record<string, string[]> = {};
    for (const k of keys) {
      const raw = values[k];
      if (raw === undefined || raw === '') continue;
      if (SECRET.test(k) && raw === '***') {
        local[k] = ['the API never shows a secret: type it again to keep it'];
        continue;
      }
      const t = typeOf(schema?.[k]);
      if (t === 'string') body[k] = raw;
      else {
        try {
          body[k] = JSON.parse(raw);
        } catch {
          // sent as text: the API names the field and the type it wants
          body[k] = raw;
        }
      }
    }
    if (Object.keys(local).length > 0) {
      setProblems(local);
      return;
    }
    try {
      const a = await api<AdapterView>(`/api/v1/adapters/${adapter.id}/config`, { method: 'PUT', body });
      setApplied(true);
      props.onApplied(a);
    } catch (err) {
      if (err instanceof ApiError && Array.isArray(err.details)) {
        const byField: Record<string, string[]> = {};
        const other: string[] = [];
        for (const p of err.details as { path?: string; message?: string }[]) {
          const field = (p.path ?? '').split('/')[1] ?? '';
          if (field !== '' && keys.includes(field))
            byField[field] = [...(byField[field] ?? []), p.message ?? 'invalid'];
          else other.push(`${p.path ?? ''} ${p.message ?? ''}`);
        }
        setProblems(byField);
        if (other.length > 0) setError(new ApiError(err.status, err.code, other.join('; ')));
        else
          setError(new ApiError(err.status, err.code, 'the change was refused; the adapter runs as before'));
      } else setError(err);
    }
  };

  return (
    <form class="config" data-testid={`config-${adapter.id}`} onSubmit={submit}>
      {keys.map((k) => {
        const t = typeOf(schema?.[k]);
        const v = values[k] ?? '';
        const bad = problems[k];
        return (
          <div class={`field${bad ? ' invalid' : ''}`} key={k}>
            <label for={`o-${adapter.id}-${k}`}>{k}</label>
            {t === 'boolean' ? (
              <select
                id={`o-${adapter.id}-${k}`}
                name={k}
                value={v}
                onChange={(e) => setValues({ ...values, [k]: (e.target as HTMLSelectElement).value })}
              >
                <option value="">(default)</option>
                <option value="true">true</option>
                <option value="false">false</option>
              </select>
            ) : (
              <input
                id={`o-${adapter.id}-${k}`}
                name={k}
                type={SECRET.test(k) ? 'password' : 'text'}
                inputMode={t === 'number' ? 'numeric' : undefined}
                value={v}
                title={schema?.[k]?.description}
                onInput={(e) => setValues({ ...values, [k]: (e.target as HTMLInputElement).value })}
              />
            )}
            {bad && (
              <span class="problem" role="alert" data-testid={`problem-${k}`}>
                {bad.join('; ')}
              </span>
            )}
          </div>
        );
      })}
      <ErrorNote error={error} />
      {applied && <p class="ok">Applied: the adapter runs with the new options.</p>}
      <button type="submit" disabled={!props.canAdmin}>
        Validate and apply
      </button>
    </form>
  );
}

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
                    <ConfigForm adapter={a} canAdmin={noAdmin === null} onApplied={() => void refresh()} />
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
