import { SiemError } from '@siem/core';

/** A database error of an events query as the API answers it: a SiemError with a stable code. */
export function translate(err: unknown, timeoutMs: number): unknown {
  if (err instanceof SiemError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (code === '57014') {
    return new SiemError(
      'SIEM_ERR_TIMEOUT',
      `the query took longer than ${timeoutMs} ms: narrow the time range or add a selective filter`,
      { cause: err },
    );
  }
  if (typeof code === 'string' && code.startsWith('22')) {
    // Data exceptions come from the request's values (every one is a bound parameter): a value the
    // checks before the query let through is the client's problem to fix, not an outage.
    return new SiemError(
      'SIEM_ERR_REQUEST_INVALID',
      `a parameter is out of what the database accepts: ${(err as Error).message}`,
      { cause: err },
    );
  }
  if (code === '42P01' || code === '3F000') {
    return new SiemError('SIEM_ERR_UNAVAILABLE', 'the events schema is not migrated yet', { cause: err });
  }
  if (typeof code === 'string' && /^(08|57P0)/.test(code)) {
    return new SiemError('SIEM_ERR_NOT_CONNECTED', 'the database is not reachable', { cause: err });
  }
  return new SiemError('SIEM_ERR_DB_QUERY', 'the events query failed', { cause: err });
}
