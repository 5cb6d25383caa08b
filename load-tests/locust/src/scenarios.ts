/**
 * The load scenarios: which Locust users run, what they send, where, and the thresholds a run must
 * meet. A threshold that is missed makes `npm run load` exit non-zero.
 */

export type PayloadKind = 'syslog' | 'winlogbeat' | 'cloudtrail';
export type Intake = 'syslog_tcp' | 'syslog_tls' | 'syslog_udp' | 'windows_events' | 'api';

export interface Thresholds {
  /** Acknowledged / offered events, at least. */
  minAckRatio: number;
  /** Failed requests / requests, at most. */
  maxErrorRatio: number;
  /** p95 and p99 of the request latency (write, window ACK, HTTP answer, query), at most, in ms. */
  p95Ms: number;
  p99Ms: number;
  /** Events stored on the far side / events acknowledged, at least (1: every acknowledged event arrived). */
  minStoredRatio: number | null;
  /** Acknowledged events/s at least this share of --rate (when a rate is set). */
  minRateShare: number;
  /** Live tail: (events received + reported dropped) per client / events stored, at least. */
  minTailRatio: number | null;
}

export interface Scenario {
  description: string;
  /** Locust user classes (load-tests/locust/locustfile.py); the first one carries the intake load. */
  users: string[];
  /** Users of these classes run as this many instances (the rest of --users go to the first class). */
  fixedUsers?: Record<string, number>;
  payload: PayloadKind | null;
  intake: Intake;
  /** How the far side finds this run's events: marker host names or marker user names. */
  marker: 'host' | 'user' | null;
  defaults: { users: number; rate: number; batch: number };
  thresholds: Thresholds;
}

const strict: Thresholds = {
  minAckRatio: 1,
  maxErrorRatio: 0,
  p95Ms: 1000,
  p99Ms: 2000,
  minStoredRatio: 1,
  minRateShare: 0.9,
  minTailRatio: null,
};

export const scenarios: Record<string, Scenario> = {
  'syslog-tcp': {
    description: 'syslog over TCP, LF framing, pre-built batches',
    users: ['SyslogTcpUser'],
    payload: 'syslog',
    intake: 'syslog_tcp',
    marker: 'host',
    defaults: { users: 4, rate: 10_000, batch: 500 },
    thresholds: strict,
  },
  'syslog-tcp-octet': {
    description: 'syslog over TCP, octet-counted framing',
    users: ['SyslogTcpOctetUser'],
    payload: 'syslog',
    intake: 'syslog_tcp',
    marker: 'host',
    defaults: { users: 4, rate: 10_000, batch: 500 },
    thresholds: strict,
  },
  'syslog-tls': {
    description: 'syslog over TLS (octet-counted)',
    users: ['SyslogTlsUser'],
    payload: 'syslog',
    intake: 'syslog_tls',
    marker: 'host',
    defaults: { users: 4, rate: 10_000, batch: 500 },
    thresholds: strict,
  },
  'syslog-udp': {
    description: 'syslog over UDP, one frame per datagram (no ACK: the far-side count is the check)',
    users: ['SyslogUdpUser'],
    payload: 'syslog',
    intake: 'syslog_udp',
    marker: 'host',
    defaults: { users: 2, rate: 5_000, batch: 100 },
    // UDP may lose datagrams in the kernel by design; the gateway counts those it sees dropped
    thresholds: { ...strict, minStoredRatio: 0.99 },
  },
  lumberjack: {
    description: 'Beats/Lumberjack v2 windows, each acknowledged (Winlogbeat documents)',
    users: ['LumberjackUser'],
    payload: 'winlogbeat',
    intake: 'windows_events',
    marker: 'host',
    defaults: { users: 4, rate: 5_000, batch: 512 },
    thresholds: strict,
  },
  'cloud-http': {
    description: 'CloudTrail batches, gzip, to the cloud intake (202 = in the buffer)',
    users: ['CloudHttpUser'],
    payload: 'cloudtrail',
    intake: 'api',
    marker: 'user',
    defaults: { users: 4, rate: 5_000, batch: 500 },
    thresholds: strict,
  },
  query: {
    description: 'analysts paging through the events query API with the common filters',
    users: ['QueryUser'],
    payload: null,
    intake: 'api',
    marker: null,
    defaults: { users: 4, rate: 0, batch: 1 },
    thresholds: { ...strict, minStoredRatio: null, p95Ms: 2000, p99Ms: 5000 },
  },
  tail: {
    description:
      'live tail clients following a syslog TCP load; every stored event reaches each client or is reported dropped',
    users: ['SyslogTcpUser', 'TailUser'],
    fixedUsers: { TailUser: 2 },
    payload: 'syslog',
    intake: 'syslog_tcp',
    marker: 'host',
    defaults: { users: 4, rate: 5_000, batch: 500 },
    // a client sees the events stored after it connected: the first batch may be stored before that
    thresholds: { ...strict, minTailRatio: 0.95 },
  },
};

/** The gateway's default port of each intake (README: Ports). */
export const defaultPorts: Record<Intake, number> = {
  syslog_tcp: 5514,
  syslog_tls: 6514,
  syslog_udp: 5514,
  windows_events: 5515,
  api: 8080,
};
