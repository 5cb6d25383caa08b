import { useEffect, useState } from 'preact/hooks';
import {
  api,
  type Health,
  type ProcessStatus,
  readiness,
  sessionKey,
  type TierStatus,
  type Whoami,
} from '../api';
import { ErrorNote, missingScope, ScopeNote } from '../components/notice';

/** A key is shown by its first characters only, enough to tell two apart. */
const maskKey = (k: string) => `${k.slice(0, 9)}…`;

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(u === 0 ? 0 : 1)} ${units[u]}`;
}

function duration(s: number): string {
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d > 0 ? `${d} d ${h} h` : h > 0 ? `${h} h ${m} min` : `${m} min ${s % 60} s`;
}

function Tiers({ tiers }: { tiers: ProcessStatus['tiers'] }) {
  if (tiers.state !== 'ok') {
    return (
      <p data-testid="status-tiers" class={tiers.state === 'none' ? 'hint' : 'error'}>
        {tiers.state === 'none' ? tiers.detail : `tier status ${tiers.state}: ${tiers.detail}`}
      </p>
    );
  }
  const t: TierStatus = tiers.status;
  return (
    <div data-testid="status-tiers">
      <p class="hint">
        {t.engine}, schema {t.schema}; warm after {t.boundaries.warm}, cold after {t.boundaries.cold}, frozen
        after {t.boundaries.frozen}; read {new Date(tiers.read_at).toLocaleTimeString()}
      </p>
      <table>
        <thead>
          <tr>
            <th>tier</th>
            <th>chunks</th>
            <th>size</th>
            <th>rows</th>
            <th>oldest</th>
            <th>newest</th>
            <th>compression</th>
          </tr>
        </thead>
        <tbody>
          {t.tiers.map((r) => (
            <tr key={r.tier} data-testid={`tier-${r.tier}`}>
              <td>{r.tier}</td>
              <td>{r.chunks}</td>
              <td>{bytes(r.bytes)}</td>
              <td>{r.rows ?? '—'}</td>
              <td>{r.oldest ?? '—'}</td>
              <td>{r.newest ?? '—'}</td>
              <td>{r.compressionRatio === null ? '—' : `${r.compressionRatio.toFixed(1)}×`}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {t.rollups.length > 0 && (
        <p class="hint">
          Rollups: {t.rollups.map((r) => `${r.name} (${r.rows} rows, ${bytes(r.bytes)})`).join(', ')}
        </p>
      )}
    </div>
  );
}

export function StatusPage({ me }: { me: Whoami | null }) {
  const [health, setHealth] = useState<Health | null>(null);
  const [status, setStatus] = useState<ProcessStatus | null>(null);
  const [error, setError] = useState<unknown>(null);
  // the configuration is the whole deployment's: a key bound to one tenant is refused it, admin or not
  const noAdmin =
    missingScope(me, 'admin') ??
    (me?.tenant
      ? `The process, tiers and configuration need a key not bound to a tenant; key ${me.id} is bound to ${me.tenant}.`
      : null);
  useEffect(() => {
    let stale = false;
    void readiness().then((h) => !stale && setHealth(h));
    if (me !== null && noAdmin === null)
      api<ProcessStatus>('/api/v1/status')
        .then((s) => !stale && setStatus(s))
        .catch((e) => !stale && setError(e));
    return () => {
      stale = true;
    };
  }, [me, noAdmin]);
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
              {n}: {c.ok ? 'ready' : 'down'}
              {c.latency_ms === undefined ? '' : ` in ${c.latency_ms} ms`}
              {c.detail ? ` (${c.detail})` : ''}
            </li>
          ))}
        </ul>
      </section>
      <ScopeNote text={noAdmin}>
        <ErrorNote error={error} />
        {status !== null && (
          <>
            <section>
              <h3>Process</h3>
              <dl data-testid="status-process">
                <dt>Version</dt>
                <dd data-testid="status-version">{status.version}</dd>
                <dt>Role</dt>
                <dd data-testid="status-role">{status.role}</dd>
                <dt>Host</dt>
                <dd>
                  {status.hostname}, pid {status.pid}, Node.js {status.node}
                </dd>
                <dt>Up</dt>
                <dd>
                  {duration(status.uptime_seconds)} (since {status.started_at})
                </dd>
              </dl>
            </section>
            <section>
              <h3>Storage tiers</h3>
              <Tiers tiers={status.tiers} />
            </section>
            <section>
              <details>
                <summary>
                  <h3>Configuration (secrets masked)</h3>
                </summary>
                <pre data-testid="status-config">{JSON.stringify(status.config, null, 2)}</pre>
              </details>
            </section>
          </>
        )}
      </ScopeNote>
      <section>
        <h3>API</h3>
        <p>
          <a href="/docs" target="_blank" rel="noreferrer">
            API documentation (OpenAPI)
          </a>{' '}
          · <a href="/metrics">Prometheus metrics</a>
        </p>
      </section>
    </div>
  );
}
