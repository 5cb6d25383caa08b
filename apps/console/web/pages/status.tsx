import { useEffect, useState } from 'preact/hooks';
import { type AdapterView, api, type Health, readiness, sessionKey, type Whoami } from '../api';
import { ErrorNote } from '../components/notice';

const SECRET = /(password|passphrase|secret|token|key_pem|hash)$/i;

/** Secrets never shown: the API already redacts adapter secrets; this masks anything that slipped by. */
function masked(options: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(options).map(([k, v]) => [k, SECRET.test(k) && v !== null && v !== undefined ? '***' : v]),
  );
}

/** A key is shown by its first characters only, enough to tell two apart. */
const maskKey = (k: string) => `${k.slice(0, 9)}…`;

export function StatusPage({ me }: { me: Whoami | null }) {
  const [health, setHealth] = useState<Health | null>(null);
  const [adapters, setAdapters] = useState<AdapterView[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    void readiness().then(setHealth);
    if (me?.scopes.includes('read'))
      api<{ data: AdapterView[] }>('/api/v1/adapters')
        .then((r) => setAdapters(r.data))
        .catch(setError);
  }, [me]);
  const key = sessionKey();
  return (
    <div class="status" data-testid="status">
      <section>
        <h3>Session</h3>
        <dl>
          <dt>Key</dt>
          <dd data-testid="status-key">
            {me === null
              ? '…'
              : me.keyless
                ? 'none (keyless loopback mode)'
                : `${me.id} (${key === null ? '' : maskKey(key)})`}
          </dd>
          <dt>Scopes</dt>
          <dd data-testid="status-scopes">{me?.scopes.join(', ') ?? '…'}</dd>
          <dt>Tenant</dt>
          <dd>{me?.tenant ?? 'every tenant'}</dd>
        </dl>
      </section>
      <section>
        <h3>Readiness</h3>
        <p data-testid="status-ready">{health?.status ?? '…'}</p>
        <ul>
          {Object.entries(health?.checks ?? {}).map(([n, c]) => (
            <li key={n}>
              {n}: {c.ok ? 'ready' : 'down'} {c.detail ?? ''}
            </li>
          ))}
        </ul>
      </section>
      <section>
        <h3>Adapters configuration (secrets masked)</h3>
        <ErrorNote error={error} />
        {(adapters ?? []).map((a) => (
          <details key={a.id}>
            <summary>
              {a.id} ({a.type}, {a.state})
            </summary>
            <pre data-testid={`status-options-${a.id}`}>{JSON.stringify(masked(a.options), null, 2)}</pre>
          </details>
        ))}
      </section>
      <section>
        <h3>API</h3>
        <p>
          <a href="/docs" target="_blank" rel="noreferrer">
            API documentation (OpenAPI)
          </a>{' '}
          · <a href="/metrics">Prometheus metrics</a>
        </p>
        <p class="hint">
          Version, role, the full configuration and the storage tier status are not served by the API yet (see
          `siem tiers status` and `siem validate` on the command line).
        </p>
      </section>
    </div>
  );
}
