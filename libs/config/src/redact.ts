import type { ConfigProblem } from './validate.js';

/**
 * Configuration values that never leave the process: what the control API, the status route and the
 * console show in their place.
 */
export const REDACTED = '***';

/**
 * Keys whose values are secrets: passwords, tokens, private keys, API keys, key hashes, credentials —
 * also librdkafka's dotted settings passed through (`ssl.key.pem`, `ssl.key.password`,
 * `sasl.oauthbearer.config`, `sasl.oauthbearer.client.secret`).
 */
export const SECRET_KEY =
  /(password|passphrase|secret|token|key[_.]pem|private[_.]?key|api[_.]?key|credentials?|hash|oauthbearer\.config)$/i;

/** Query parameters of a URL that carry a secret (`?password=` is read by libpq and node-postgres). */
const SECRET_PARAM = /^(password|sslpassword|passphrase|secret|token|api[_-]?key|access[_-]?key|key)$/i;

/**
 * A URL's secrets replaced: the user-info's password and secret-looking query parameters. It fails
 * closed: a string that looks like `scheme://…@` but does not parse as a URL (a socket-path database
 * URL, an unencoded `#` or `/` in the password) has everything between `://` and the last `@` masked.
 */
function redactUrl(value: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return value;
  let out = value;
  // the last `@` before any query string: one in `?email=a@b` is not the end of a user-info
  const query = value.indexOf('?');
  const at = value.lastIndexOf('@', query < 0 ? value.length : query);
  const scheme = value.indexOf('://') + 3;
  if (at > scheme) {
    const userinfo = value.slice(scheme, at);
    const colon = userinfo.indexOf(':');
    out = `${value.slice(0, scheme)}${colon < 0 ? userinfo : `${userinfo.slice(0, colon)}:${REDACTED}`}${value.slice(at)}`;
  }
  const q = out.indexOf('?');
  if (q < 0) return out;
  const hash = out.indexOf('#', q);
  const masked = out
    .slice(q + 1, hash < 0 ? undefined : hash)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = decodeURIComponentSafe(eq < 0 ? pair : pair.slice(0, eq));
      return eq >= 0 && SECRET_PARAM.test(name) ? `${pair.slice(0, eq)}=${REDACTED}` : pair;
    })
    .join('&');
  return `${out.slice(0, q + 1)}${masked}${hash < 0 ? '' : out.slice(hash)}`;
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * A copy of `value` with every secret replaced by `***`, at any depth: values under a secret-looking
 * key (SECRET_KEY), and the secrets inside URLs. Everything else is kept as it is, so an operator still
 * sees what is configured.
 */
export function redactSecrets<T>(value: T): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return redactUrl(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>).map(([k, x]) => [
          k,
          SECRET_KEY.test(k) && x !== null && x !== undefined ? REDACTED : walk(x),
        ]),
      );
    }
    return v;
  };
  return walk(value) as T;
}

/**
 * The places in `value` that still hold a redaction placeholder (`***`, or `:***@` / `=***` inside a
 * URL): options read back from the API and sent again unchanged. Applying them would replace the real
 * secret with three asterisks, so a change holding one is refused with these problems.
 */
export function redactedPlaceholders(value: unknown, path = ''): ConfigProblem[] {
  if (typeof value === 'string') {
    return value === REDACTED || value.includes(`:${REDACTED}@`) || value.includes(`=${REDACTED}`)
      ? [
          {
            path: path || '/',
            message: 'holds "***", the placeholder the API shows for a secret: send the real value',
          },
        ]
      : [];
  }
  if (Array.isArray(value)) return value.flatMap((v, i) => redactedPlaceholders(v, `${path}/${i}`));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) =>
      redactedPlaceholders(v, `${path}/${k}`),
    );
  }
  return [];
}
