/**
 * The console's one way to the API: same origin, the session's key (if any) as a bearer token, and an
 * X-SIEM-Client header so that keyless loopback mode can tell the console from a cross-site form.
 * The key lives in sessionStorage only: gone when the tab closes, never in the URL or localStorage.
 */
const KEY_ITEM = 'siem.console.key';

export function sessionKey(): string | null {
  return sessionStorage.getItem(KEY_ITEM);
}

export function setSessionKey(key: string | null): void {
  if (key === null) sessionStorage.removeItem(KEY_ITEM);
  else sessionStorage.setItem(KEY_ITEM, key);
}

/** An error answer of the API: its HTTP status, stable code, message and details. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
  ) {
    super(message);
  }
}

/** Everybody interested in "the key is missing or wrong" (the login prompt). */
const authListeners = new Set<(e: ApiError) => void>();
export function onAuthRequired(fn: (e: ApiError) => void): () => void {
  authListeners.add(fn);
  return () => authListeners.delete(fn);
}

/** `body` is sent as JSON; `yaml` as a YAML text (content-type application/yaml). */
export async function api<T>(
  path: string,
  init: { method?: string; body?: unknown; yaml?: string } = {},
): Promise<T> {
  const headers: Record<string, string> = { 'x-siem-client': 'console', accept: 'application/json' };
  const key = sessionKey();
  if (key !== null) headers.authorization = `Bearer ${key}`;
  let body: string | undefined;
  if (init.yaml !== undefined) {
    headers['content-type'] = 'application/yaml';
    body = init.yaml;
  } else if (init.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.body);
  }
  const method = init.method ?? 'GET';
  let res = await fetch(path, { method, headers, body, credentials: 'omit' });
  // A read refused for this key's running queries (api.query.max_concurrent_per_key: a search's page and
  // histogram, and the one before it still finishing) is asked again after Retry-After, a few times.
  for (let retry = 0; res.status === 429 && method === 'GET' && retry < 5; retry++) {
    const after = Math.min(5, Math.max(0.2, Number(res.headers.get('retry-after') ?? 1) || 1));
    await res.body?.cancel();
    await new Promise((r) => setTimeout(r, after * 1000));
    res = await fetch(path, { method, headers, body, credentials: 'omit' });
  }
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text === '' ? null : JSON.parse(text);
  } catch {
    json = null;
  }
  if (!res.ok) {
    const e = (json ?? {}) as { code?: string; message?: string; details?: unknown };
    const err = new ApiError(
      res.status,
      e.code ?? `HTTP_${res.status}`,
      e.message ?? (text.slice(0, 300) || res.statusText),
      e.details ?? null,
    );
    if (res.status === 401) for (const fn of authListeners) fn(err);
    throw err;
  }
  return json as T;
}

export interface Whoami {
  id: string;
  scopes: string[];
  tenant: string | null;
  keyless: boolean;
}

export interface NormalizedEvent {
  time: string;
  receivedAt: string;
  tenantId: string;
  eventId: string;
  sourceType: string;
  hostName: string | null;
  hostIp: string | null;
  appName: string | null;
  severity: number;
  category: string;
  action: string | null;
  outcome: string;
  userName: string | null;
  srcIp: string | null;
  srcPort: number | null;
  dstIp: string | null;
  dstPort: number | null;
  processName: string | null;
  processPid: number | null;
  eventCode: string | null;
  message: string | null;
  attrs: Record<string, unknown>;
  raw: string;
  classUid: number | null;
}

export interface EventsPage {
  data: NormalizedEvent[];
  next: string | null;
  total: number | null;
  total_exact: boolean;
  truncated: string | null;
  searched_from: string | null;
}

export interface Histogram {
  interval: string;
  from: string;
  to: string;
  total: number;
  buckets: { time: string; count: number }[];
}

export interface AdapterView {
  id: string;
  name: string;
  type: string;
  state: string;
  listen: string | null;
  counters: Record<string, number>;
  error?: string;
  options: Record<string, unknown>;
}

export interface Health {
  status: string;
  checks?: Record<string, { ok: boolean; detail?: string; latency_ms?: number }>;
}

/** GET /api/v1/status (admin): what the process is and how it is configured. */
export interface ProcessStatus {
  version: string;
  role: string;
  hostname: string;
  pid: number;
  node: string;
  started_at: string;
  uptime_seconds: number;
  config: Record<string, unknown>;
  tiers:
    | { state: 'ok'; read_at: string; status: TierStatus }
    | { state: 'error' | 'timeout'; read_at: string; detail: string }
    | { state: 'none'; detail: string };
}

export interface TierStatus {
  engine: string;
  schema: string;
  boundaries: { warm: string; cold: string; frozen: string };
  tiers: {
    tier: string;
    chunks: number;
    bytes: number;
    rows: number | null;
    oldest: string | null;
    newest: string | null;
    compressionRatio: number | null;
  }[];
  rollups: { name: string; rows: number; bytes: number; oldest: string | null; newest: string | null }[];
  archiveDir: string | null;
}

/** GET /health/ready answers 503 with the same body when a dependency is down: read it either way. */
export async function readiness(): Promise<Health> {
  const res = await fetch('/health/ready', { headers: { 'x-siem-client': 'console' }, credentials: 'omit' });
  try {
    return (await res.json()) as Health;
  } catch {
    return { status: `HTTP ${res.status}` };
  }
}

export const severityNames = [
  'emergency',
  'alert',
  'critical',
  'error',
  'warning',
  'notice',
  'info',
  'debug',
] as const;
export const categories = [
  'authentication',
  'network',
  'process',
  'file',
  'configuration',
  'account_management',
  'audit',
  'other',
] as const;
export const outcomes = ['success', 'failure', 'unknown'] as const;
export const sourceTypes = ['syslog', 'windows', 'cloudtrail', 'azure_activity', 'gcp_logging'] as const;
