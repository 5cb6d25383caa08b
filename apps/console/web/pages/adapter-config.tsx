import { useEffect, useState } from 'preact/hooks';
import { type AdapterView, ApiError, api } from '../api';
import { ErrorNote } from '../components/notice';

interface ConfigProps {
  adapter: AdapterView;
  canAdmin: boolean;
  onApplied: (a: AdapterView) => void;
}

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

/** As the server's SECRET_KEY (libs/config redact.ts): these fields are typed as passwords. */
const SECRET =
  /(password|passphrase|secret|token|key[_.]pem|private[_.]?key|api[_.]?key|credentials?|hash|oauthbearer\.config)$/i;

/**
 * The options of an adapter as a form, one field per option of its schema. The API validates the
 * whole change against that schema before applying it; every problem it reports is shown beside its
 * field, and a refused change leaves the running adapter as it was.
 */
function ConfigForm(props: ConfigProps) {
  const { adapter } = props;
  const [schema, setSchema] = useState<Record<string, PropSchema> | null>(null);
  const [values, setValues] = useState<Record<string, string>>(() =>
    Object.fromEntries(
      Object.entries(adapter.options).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
    ),
  );
  const { problems, setProblems, error, setError, applied, reset, apply } = useApply(props);

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
    reset();
    const body: Record<string, unknown> = {};
    const local: Record<string, string[]> = {};
    for (const k of keys) {
      const raw = values[k];
      if (raw === undefined || raw === '') continue;
      if ((SECRET.test(k) && raw === '***') || raw.includes('"***"')) {
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
    await apply({ body }, keys);
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
      <Outcome error={error} applied={applied} canAdmin={props.canAdmin} />
    </form>
  );
}

/**
 * A refused change: the API's problems by option (the field beside which each is shown), and an
 * error line for the rest.
 */
function refusal(
  err: unknown,
  keys: readonly string[],
): { byField: Record<string, string[]>; error: unknown } {
  if (!(err instanceof ApiError) || !Array.isArray(err.details)) return { byField: {}, error: err };
  const byField: Record<string, string[]> = {};
  const other: string[] = [];
  for (const p of err.details as { path?: string; message?: string }[]) {
    const field = (p.path ?? '').split('/')[1] ?? '';
    if (field !== '' && keys.includes(field))
      byField[field] = [...(byField[field] ?? []), p.message ?? 'invalid'];
    else other.push(`${p.path ?? ''} ${p.message ?? ''}`.trim());
  }
  const message = other.length > 0 ? other.join('; ') : 'the change was refused; the adapter runs as before';
  return { byField, error: new ApiError(err.status, err.code, message) };
}

/** Sending a change: its problems by option, the error line, and whether it was applied. */
function useApply(props: ConfigProps) {
  const [problems, setProblems] = useState<Record<string, string[]>>({});
  const [error, setError] = useState<unknown>(null);
  const [applied, setApplied] = useState(false);
  const reset = () => {
    setProblems({});
    setError(null);
    setApplied(false);
  };
  const apply = async (change: { body: unknown } | { yaml: string }, keys: readonly string[]) => {
    try {
      const a = await api<AdapterView>(`/api/v1/adapters/${props.adapter.id}/config`, {
        method: 'PUT',
        ...change,
      });
      setApplied(true);
      props.onApplied(a);
    } catch (err) {
      const refused = refusal(err, keys);
      setProblems(refused.byField);
      setError(refused.error);
    }
  };
  return { problems, setProblems, error, setError, applied, reset, apply };
}

/** Under either form: the error line, "applied", and the button. */
function Outcome(props: { error: unknown; applied: boolean; canAdmin: boolean }) {
  return (
    <>
      <ErrorNote error={props.error} />
      {props.applied && <p class="ok">Applied: the adapter runs with the new options.</p>}
      <button type="submit" disabled={!props.canAdmin}>
        Validate and apply
      </button>
    </>
  );
}

/** A YAML scalar: plain where that reads back as the same string, JSON (a YAML flow value) otherwise. */
function yamlValue(v: unknown): string {
  const plain =
    typeof v === 'string' &&
    /^[A-Za-z_/][A-Za-z0-9_./:@-]*$/.test(v) &&
    !v.endsWith(':') &&
    !/^(true|false|null|yes|no|on|off|y|n|~)$/i.test(v);
  return plain ? (v as string) : JSON.stringify(v);
}

/** The options as the configuration file writes them under `adapters.<id>` (JSON is YAML's flow style). */
export function optionsYaml(options: Readonly<Record<string, unknown>>): string {
  return Object.entries(options)
    .filter(([k]) => k !== 'type')
    .map(([k, v]) => `${k}: ${yamlValue(v)}`)
    .join('\n')
    .concat('\n');
}

/**
 * The options as YAML, sent as such (content-type application/yaml): the API parses it as it parses
 * the configuration file, validates it against the adapter's schema, and lists every problem with its
 * option; a refused change leaves the running adapter as it was.
 */
function YamlForm(props: ConfigProps) {
  const { adapter } = props;
  const [text, setText] = useState(() => optionsYaml(adapter.options));
  const { problems, setError, error, applied, reset, apply } = useApply(props);
  const keys = text
    .split('\n')
    .map((l) => /^([A-Za-z0-9_]+)\s*:/.exec(l)?.[1])
    .filter((k): k is string => k !== undefined);
  const submit = async (e: Event) => {
    e.preventDefault();
    reset();
    const secret = text.split('\n').find((l) => /^\s*[A-Za-z0-9_]+\s*:\s*"?\*\*\*"?\s*$/.test(l));
    if (secret !== undefined) {
      setError(
        new ApiError(0, 'SECRET_HIDDEN', `the API never shows a secret: type it again (${secret.trim()})`),
      );
      return;
    }
    await apply({ yaml: text }, keys);
  };
  return (
    <form class="config yaml" data-testid={`yaml-${adapter.id}`} onSubmit={submit}>
      <textarea
        name="yaml"
        spellcheck={false}
        rows={Math.min(30, text.split('\n').length + 2)}
        value={text}
        onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
      />
      {Object.keys(problems).length > 0 && (
        <ul class="problems">
          {Object.entries(problems).map(([k, msgs]) => (
            <li key={k} class="problem" role="alert" data-testid={`problem-${k}`}>
              {k}: {msgs.join('; ')}
            </li>
          ))}
        </ul>
      )}
      <Outcome error={error} applied={applied} canAdmin={props.canAdmin} />
    </form>
  );
}

/** An adapter's configuration, edited as a form or as YAML. */
export function AdapterConfig(props: ConfigProps) {
  const [mode, setMode] = useState<'form' | 'yaml'>('form');
  return (
    <div class="adapter-config">
      <div class="modes" role="tablist">
        {(['form', 'yaml'] as const).map((m) => (
          <button
            key={m}
            type="button"
            role="tab"
            aria-selected={mode === m}
            class={mode === m ? 'active' : ''}
            onClick={() => setMode(m)}
          >
            {m === 'form' ? 'Form' : 'YAML'}
          </button>
        ))}
      </div>
      {mode === 'form' ? <ConfigForm {...props} /> : <YamlForm {...props} />}
    </div>
  );
}
