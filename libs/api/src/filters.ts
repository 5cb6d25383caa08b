import { BlockList, isIP } from 'node:net';
import { eventCategories, eventOutcomes, type NormalizedEvent, severityNames, sourceTypes } from '@siem/core';
import { parseTime } from './time-param.js';

export { parseTime } from './time-param.js';

/**
 * The event filters shared by the query, the histogram and the live tail: parsed once from the query
 * string into an EventFilter, which becomes SQL (events-sql.ts, bound parameters only) or a predicate
 * over stored rows (`matches`, for the tail). Filters combine with AND; the values of one repeated
 * parameter (`host=a&host=b`) with OR.
 */
export interface EventFilter {
  /** Inclusive lower bound, as an ISO 8601 string PostgreSQL reads exactly (microseconds kept). */
  from: string | null;
  /** Exclusive upper bound. */
  to: string | null;
  fromMs: number | null;
  toMs: number | null;
  tenants: string[] | null;
  hosts: string[] | null;
  sourceTypes: string[] | null;
  severities: number[] | null;
  /** Events at least this severe: severity <= this number (0 emergency … 7 debug). */
  minSeverity: number | null;
  categories: string[] | null;
  actions: string[] | null;
  outcomes: string[] | null;
  users: string[] | null;
  srcIps: IpMatch[] | null;
  dstIps: IpMatch[] | null;
  eventCodes: string[] | null;
  /** Case-insensitive substring of the message. */
  text: string | null;
}

export interface IpMatch {
  /** As PostgreSQL's inet reads it: an address, or address/prefix. */
  inet: string;
  family: 'ipv4' | 'ipv6';
  address: string;
  prefix: number;
}

/** A request parameter that is wrong, and why. */
export interface ParamProblem {
  parameter: string;
  message: string;
}

/** The filter parameters as the query-string schema delivers them (repeatable ones as arrays). */
export interface FilterParams {
  from?: string;
  to?: string;
  tenant?: string[];
  host?: string[];
  source_type?: string[];
  severity?: string[];
  min_severity?: string;
  category?: string[];
  action?: string[];
  outcome?: string[];
  user?: string[];
  src_ip?: string[];
  dst_ip?: string[];
  event_code?: string[];
  q?: string;
}

const MAX_VALUES = 50;
const list = (description: string, extra: Record<string, unknown> = {}) => ({
  type: 'array',
  items: { type: 'string', minLength: 1, maxLength: 256, ...extra },
  maxItems: MAX_VALUES,
  description: `${description} Repeat the parameter for several values (any of them matches).`,
});

/** JSON schema of the filter parameters (querystring); the route schemas add their own. */
export const filterParamsSchema = {
  from: {
    type: 'string',
    maxLength: 64,
    description:
      'Oldest event time, inclusive: ISO 8601 with Z or an offset (2025-01-31T08:00:00Z), a date (UTC midnight), ' +
      'epoch seconds (1738310400), or epoch milliseconds (12 digits or more: 1738310400000). A date or time that ' +
      'does not exist (2026-02-30, hour 25) is refused with 400.',
  },
  to: { type: 'string', maxLength: 64, description: 'Newest event time, exclusive; same forms as from.' },
  tenant: list('Tenant id. A key bound to a tenant can only name its own.'),
  host: list('Host name, exact.'),
  source_type: list('Source type.', { enum: [...sourceTypes] }),
  severity: list('Severity, exact: a name (error) or 0 (emergency) … 7 (debug).'),
  min_severity: {
    type: 'string',
    maxLength: 16,
    description:
      'Events at least this severe: a name or 0 … 7 (warning keeps warning, error, critical, alert, emergency).',
  },
  category: list('Category.', { enum: [...eventCategories] }),
  action: list('Action, exact.'),
  outcome: list('Outcome.', { enum: [...eventOutcomes] }),
  user: list('User name, exact.'),
  src_ip: list('Source address, or a network in CIDR form (10.0.0.0/8, 2001:db8::/32).'),
  dst_ip: list('Destination address or CIDR network.'),
  event_code: list('Event code, exact (4625, E4601).'),
  q: {
    type: 'string',
    minLength: 1,
    maxLength: 256,
    description: 'Text the message contains (case-insensitive substring).',
  },
} as const;

export function parseSeverity(text: string): number | null {
  if (/^[0-7]$/.test(text)) return Number(text);
  const i = (severityNames as readonly string[]).indexOf(text.toLowerCase());
  return i >= 0 ? i : null;
}

export function parseIp(text: string): IpMatch | null {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const v = isIP(address);
  // isIP takes a zone id (fe80::1%eth0); PostgreSQL's inet does not
  if (v === 0 || address.includes('%')) return null;
  const max = v === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > max) return null;
    prefix = Number(p);
  }
  return { inet: `${address}/${prefix}`, family: v === 4 ? 'ipv4' : 'ipv6', address, prefix };
}

const nonEmpty = <T>(values: T[] | undefined): T[] | null =>
  values === undefined || values.length === 0 ? null : values;

/** Parses every filter parameter; returns the filter, or every problem found. */
export function parseFilter(p: FilterParams): { filter: EventFilter } | { problems: ParamProblem[] } {
  const problems: ParamProblem[] = [];
  const bad = (parameter: string, message: string) => problems.push({ parameter, message });
  for (const [name, value] of Object.entries(p)) {
    // PostgreSQL text cannot hold NUL: refuse it here rather than fail the query
    if ((Array.isArray(value) ? value : [value]).some((v) => typeof v === 'string' && v.includes('\u0000'))) {
      bad(name, 'must not contain NUL characters');
    }
  }

  const time = (name: 'from' | 'to') => {
    const text = p[name];
    if (text === undefined) return null;
    const t = parseTime(text);
    if (typeof t === 'string') {
      bad(name, `${JSON.stringify(text)} ${t}`);
      return null;
    }
    return t;
  };
  const from = time('from');
  const to = time('to');
  if (from !== null && to !== null && from.ms >= to.ms) bad('to', 'must be later than from');

  let severities: number[] | null = null;
  if (p.severity !== undefined && p.severity.length > 0) {
    severities = [];
    for (const s of p.severity) {
      const n = parseSeverity(s);
      if (n === null)
        bad('severity', `${JSON.stringify(s)} is not a severity (0 … 7 or ${severityNames.join(', ')})`);
      else severities.push(n);
    }
  }
  let minSeverity: number | null = null;
  if (p.min_severity !== undefined) {
    minSeverity = parseSeverity(p.min_severity);
    if (minSeverity === null) {
      bad(
        'min_severity',
        `${JSON.stringify(p.min_severity)} is not a severity (0 … 7 or ${severityNames.join(', ')})`,
      );
    }
  }
  const ips = (name: 'src_ip' | 'dst_ip') => {
    const values = nonEmpty(p[name]);
    if (values === null) return null;
    const out: IpMatch[] = [];
    for (const v of values) {
      const ip = parseIp(v);
      if (ip === null) bad(name, `${JSON.stringify(v)} is not an IP address or CIDR network`);
      else out.push(ip);
    }
    return out;
  };
  const srcIps = ips('src_ip');
  const dstIps = ips('dst_ip');

  if (problems.length > 0) return { problems };
  return {
    filter: {
      from: from?.iso ?? null,
      to: to?.iso ?? null,
      fromMs: from?.ms ?? null,
      toMs: to?.ms ?? null,
      tenants: nonEmpty(p.tenant),
      hosts: nonEmpty(p.host),
      sourceTypes: nonEmpty(p.source_type),
      severities,
      minSeverity,
      categories: nonEmpty(p.category),
      actions: nonEmpty(p.action),
      outcomes: nonEmpty(p.outcome),
      users: nonEmpty(p.user),
      srcIps,
      dstIps,
      eventCodes: nonEmpty(p.event_code),
      text: p.q ?? null,
    },
  };
}

/** The filter's parameters in a stable text form (cursors carry a digest of it). */
export function filterFingerprint(f: EventFilter): string {
  return JSON.stringify([
    f.from,
    f.to,
    f.tenants,
    f.hosts,
    f.sourceTypes,
    f.severities,
    f.minSeverity,
    f.categories,
    f.actions,
    f.outcomes,
    f.users,
    f.srcIps?.map((i) => i.inet) ?? null,
    f.dstIps?.map((i) => i.inet) ?? null,
    f.eventCodes,
    f.text,
  ]);
}

function blockList(ips: IpMatch[]): BlockList {
  const b = new BlockList();
  for (const ip of ips) b.addSubnet(ip.address, ip.prefix, ip.family);
  return b;
}

function ipFamily(address: string): 'ipv4' | 'ipv6' | null {
  const v = isIP(address);
  return v === 4 ? 'ipv4' : v === 6 ? 'ipv6' : null;
}

/**
 * The filter as a predicate over stored rows (the live tail): the same meaning as the SQL, evaluated
 * in JavaScript. Built once per tail client; the sets make each check O(1).
 */
export function compileMatcher(f: EventFilter): (e: NormalizedEvent) => boolean {
  const set = (values: string[] | null) => (values === null ? null : new Set(values));
  const tenants = set(f.tenants);
  const hosts = set(f.hosts);
  const types = set(f.sourceTypes);
  const severities = f.severities === null ? null : new Set(f.severities);
  const categories = set(f.categories);
  const actions = set(f.actions);
  const outcomes = set(f.outcomes);
  const users = set(f.users);
  const codes = set(f.eventCodes);
  const src = f.srcIps === null ? null : blockList(f.srcIps);
  const dst = f.dstIps === null ? null : blockList(f.dstIps);
  const text = f.text?.toLowerCase() ?? null;
  const inSet = (s: Set<string> | null, v: string | null) => s === null || (v !== null && s.has(v));
  const inNet = (b: BlockList | null, v: string | null) => {
    if (b === null) return true;
    if (v === null) return false;
    const fam = ipFamily(v);
    return fam !== null && b.check(v, fam);
  };
  return (e) => {
    if (f.fromMs !== null || f.toMs !== null) {
      const t = Date.parse(e.time);
      if (f.fromMs !== null && !(t >= f.fromMs)) return false;
      if (f.toMs !== null && !(t < f.toMs)) return false;
    }
    return (
      inSet(tenants, e.tenantId) &&
      inSet(hosts, e.hostName) &&
      inSet(types, e.sourceType) &&
      (severities === null || severities.has(e.severity)) &&
      (f.minSeverity === null || e.severity <= f.minSeverity) &&
      inSet(categories, e.category) &&
      inSet(actions, e.action) &&
      inSet(outcomes, e.outcome) &&
      inSet(users, e.userName) &&
      inNet(src, e.srcIp) &&
      inNet(dst, e.dstIp) &&
      inSet(codes, e.eventCode) &&
      (text === null || e.message?.toLowerCase().includes(text) === true)
    );
  };
}
