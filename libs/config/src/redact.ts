/**
 * Configuration values that never leave the process: what the control API, the status route and the
 * console show in their place.
 */
export const REDACTED = '***';

/** Keys whose values are secrets (passwords, tokens, private keys, key hashes). */
export const SECRET_KEY = /(password|passphrase|secret|token|key_pem|hash)$/i;

/** A URL's password (`postgres://user:pw@host/db`) replaced; other strings as they are. */
function redactUrl(value: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/]*@/i.test(value)) return value;
  try {
    const url = new URL(value);
    if (url.password === '') return value;
    url.password = REDACTED;
    return url.toString();
  } catch {
    return value;
  }
}

/**
 * A copy of `value` with every secret replaced by `***`, at any depth: values under a secret-looking
 * key (SECRET_KEY), and the password inside URLs. Everything else is kept as it is, so an operator
 * still sees what is configured.
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
