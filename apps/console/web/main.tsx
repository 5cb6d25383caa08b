import 'uplot/dist/uPlot.min.css';
import './style.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, onAuthRequired, sessionKey, setSessionKey, type Whoami } from './api';
import { AdaptersPage } from './pages/adapters';
import { OverviewPage } from './pages/overview';
import { SearchPage } from './pages/search';
import { StatusPage } from './pages/status';
import { TailPage } from './pages/tail';
import { hrefOf, type Page, pages, useRoute } from './route';

const titles: Record<Page, string> = {
  overview: 'Overview',
  search: 'Search',
  tail: 'Live tail',
  adapters: 'Adapters',
  status: 'Status',
};

/**
 * Asks for an API key once per session. It is kept in sessionStorage (this tab only, gone when it
 * closes), never in the URL or localStorage, and sent as a bearer token.
 */
function Login(props: { problem: string | null; onKey: (k: string) => void }) {
  const [key, setKey] = useState('');
  return (
    <form
      class="login"
      data-testid="login"
      onSubmit={(e) => {
        e.preventDefault();
        props.onKey(key.trim());
      }}
    >
      <h2>API key</h2>
      <p>This gateway requires an API key (create one with `siem api-key`). It is kept for this tab only.</p>
      {props.problem !== null && (
        <p class="error" role="alert">
          {props.problem}
        </p>
      )}
      <input
        type="password"
        name="api-key"
        autocomplete="off"
        aria-label="API key"
        value={key}
        onInput={(e) => setKey((e.target as HTMLInputElement).value)}
      />
      <button type="submit">Sign in</button>
    </form>
  );
}

function App() {
  const route = useRoute();
  const [me, setMe] = useState<Whoami | null>(null);
  const [login, setLogin] = useState<string | null | false>(false);
  const [error, setError] = useState<string | null>(null);

  const identify = async () => {
    try {
      setMe(await api<Whoami>('/api/v1/whoami'));
      setLogin(false);
      setError(null);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return; // onAuthRequired shows the form
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  useEffect(() => {
    const off = onAuthRequired((e) => {
      setMe(null);
      setLogin(sessionKey() === null ? null : e.message);
      if (sessionKey() !== null) setSessionKey(null);
    });
    void identify();
    return off;
  }, []);

  return (
    <>
      <header>
        <h1>SIEM gateway</h1>
        <nav>
          {pages.map((p) => (
            <a key={p} href={hrefOf(p)} class={route.page === p ? 'active' : ''}>
              {titles[p]}
            </a>
          ))}
        </nav>
        <span class="who" data-testid="who">
          {me === null ? '' : me.keyless ? 'keyless (loopback)' : `key ${me.id}: ${me.scopes.join(', ')}`}
          {me !== null && !me.keyless && (
            <button
              type="button"
              onClick={() => {
                setSessionKey(null);
                setMe(null);
                setLogin(null);
              }}
            >
              Sign out
            </button>
          )}
        </span>
      </header>
      <main>
        {error !== null && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        {login !== false ? (
          <Login
            problem={login}
            onKey={(k) => {
              setSessionKey(k);
              void identify();
            }}
          />
        ) : me === null ? (
          <p>Connecting…</p>
        ) : route.page === 'search' ? (
          <SearchPage params={route.params} me={me} />
        ) : route.page === 'tail' ? (
          <TailPage params={route.params} me={me} />
        ) : route.page === 'adapters' ? (
          <AdaptersPage me={me} />
        ) : route.page === 'status' ? (
          <StatusPage me={me} />
        ) : (
          <OverviewPage me={me} />
        )}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
