import { type ErrorCode, SiemError } from '@siem/core';
import type { ParamProblem } from './filters.js';

/** HTTP status of each error code the API answers with; any other SiemError is a 500. */
const STATUS: Partial<Record<ErrorCode, number>> = {
  SIEM_ERR_REQUEST_INVALID: 400,
  SIEM_ERR_CONFIG_INVALID: 400,
  SIEM_ERR_TLS_MATERIAL: 400,
  SIEM_ERR_AUTH: 401,
  SIEM_ERR_FORBIDDEN: 403,
  SIEM_ERR_NOT_FOUND: 404,
  SIEM_ERR_ADAPTER_UNKNOWN: 404,
  SIEM_ERR_ADAPTER_STATE: 409,
  SIEM_ERR_ADAPTER_LISTEN: 409,
  SIEM_ERR_PAYLOAD_TOO_LARGE: 413,
  SIEM_ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  SIEM_ERR_RATE_LIMITED: 429,
  SIEM_ERR_UNAVAILABLE: 503,
  SIEM_ERR_NOT_CONNECTED: 503,
  SIEM_ERR_CIRCUIT_OPEN: 503,
  SIEM_ERR_SHUTTING_DOWN: 503,
  SIEM_ERR_DB_QUERY: 503,
  SIEM_ERR_TIMEOUT: 504,
};

export interface ErrorBody {
  statusCode: number;
  code: string;
  message: string;
  details?: unknown;
}

interface AjvLikeError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

/** fastify's schema validation errors → one problem per bad parameter, named as the client wrote it. */
export function validationProblems(
  errors: readonly AjvLikeError[],
  context: string | undefined,
): ParamProblem[] {
  const out: ParamProblem[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    const path = e.instancePath
      .replace(/^\//, '')
      .replace(/\/\d+$/, '')
      .replace(/\//g, '.');
    let parameter = path;
    let message = e.message ?? e.keyword;
    if (e.keyword === 'additionalProperties') {
      parameter = [path, String(e.params.additionalProperty)].filter((x) => x !== '').join('.');
      message = context === 'querystring' ? 'is not a parameter of this endpoint' : 'is not allowed here';
    } else if (e.keyword === 'required') {
      parameter = [path, String(e.params.missingProperty)].filter((x) => x !== '').join('.');
      message = 'is required';
    } else if (e.keyword === 'enum') {
      message = `must be one of ${(e.params.allowedValues as unknown[]).map(String).join(', ')}`;
    }
    if (context === 'body') parameter = parameter === '' ? 'body' : `body.${parameter}`;
    if (parameter === '') parameter = context ?? 'request';
    const key = `${parameter}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ parameter, message });
  }
  return out;
}

/** Any error thrown by a route or hook → its status and the answer body. */
export function toHttpError(err: unknown): ErrorBody {
  if (err instanceof SiemError) {
    const statusCode = STATUS[err.code] ?? 500;
    return {
      statusCode,
      code: err.code,
      message: statusCode === 500 ? 'internal error: see the logs' : err.message,
      ...(err.details !== undefined && statusCode < 500 ? { details: err.details } : {}),
    };
  }
  const e = err as {
    validation?: AjvLikeError[];
    validationContext?: string;
    statusCode?: number;
    message?: string;
  };
  if (Array.isArray(e.validation)) {
    const problems = validationProblems(e.validation, e.validationContext);
    return {
      statusCode: 400,
      code: 'SIEM_ERR_REQUEST_INVALID',
      message: `invalid parameters: ${problems.map((p) => `${p.parameter} ${p.message}`).join('; ')}`,
      details: problems,
    };
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    // fastify's own: body too large (413), bad JSON (400), unsupported media type (415), …
    return {
      statusCode: e.statusCode,
      code: e.statusCode === 429 ? 'SIEM_ERR_RATE_LIMITED' : 'SIEM_ERR_REQUEST_INVALID',
      message: e.message ?? 'bad request',
    };
  }
  return { statusCode: 500, code: 'SIEM_ERR_INTERNAL', message: 'internal error: see the logs' };
}
