/**
 * Every platform's severity mapped onto the syslog scale (RFC 5424 §6.2.1):
 * 0 emergency, 1 alert, 2 critical, 3 error, 4 warning, 5 notice, 6 info, 7 debug.
 * The tables are exported so the README, the tests and the code read the same source.
 */

export const SEVERITY = {
  emergency: 0,
  alert: 1,
  critical: 2,
  error: 3,
  warning: 4,
  notice: 5,
  info: 6,
  debug: 7,
} as const;

/** Used when a platform says nothing about severity. */
export const DEFAULT_SEVERITY = SEVERITY.info;

/**
 * ArcSight CEF severity (0–10, or the words the spec allows). The CEF spec groups 0–3 Low, 4–6
 * Medium, 7–8 High, 9–10 Very-High; 0 is kept apart as informational.
 */
export function cefSeverity(v: string | number | null | undefined): number | null {
  if (v === null || v === undefined) return null;
  const s = String(v).trim().toLowerCase();
  switch (s) {
    case 'unknown':
      return SEVERITY.info;
    case 'low':
      return SEVERITY.notice;
    case 'medium':
      return SEVERITY.warning;
    case 'high':
      return SEVERITY.error;
    case 'very-high':
    case 'very high':
      return SEVERITY.critical;
  }
  const n = Number(s);
  if (!Number.isInteger(n) || n < 0 || n > 10) return null;
  if (n === 0) return SEVERITY.info;
  if (n <= 3) return SEVERITY.notice;
  if (n <= 6) return SEVERITY.warning;
  if (n <= 8) return SEVERITY.error;
  return SEVERITY.critical;
}

/** IBM LEEF `sev` is 1–10 (1 lowest): same grouping as CEF. */
export const leefSeverity = cefSeverity;

/** FortiGate `level` uses the syslog names (with `notification`/`information` spellings). */
const FORTIGATE_LEVELS: Record<string, number> = {
  emergency: 0,
  alert: 1,
  critical: 2,
  error: 3,
  warning: 4,
  notification: 5,
  notice: 5,
  information: 6,
  informational: 6,
  debug: 7,
};

export function fortigateSeverity(level: string | null): number | null {
  return level === null ? null : (FORTIGATE_LEVELS[level.toLowerCase()] ?? null);
}

/** PAN-OS THREAT `severity` (informational … critical). */
const PANOS_THREAT: Record<string, number> = {
  informational: 6,
  low: 5,
  medium: 4,
  high: 3,
  critical: 2,
};

export function panosThreatSeverity(sev: string | null): number | null {
  return sev === null ? null : (PANOS_THREAT[sev.toLowerCase()] ?? null);
}

/**
 * Windows event `Level` (0 LogAlways, 1 Critical, 2 Error, 3 Warning, 4 Information, 5 Verbose) and
 * the names shippers print for it (Winlogbeat `log.level`, NXLog `Severity`).
 */
export function windowsLevelSeverity(level: unknown): number | null {
  if (typeof level === 'number' || (typeof level === 'string' && /^\d+$/.test(level))) {
    switch (Number(level)) {
      case 0:
        return SEVERITY.info;
      case 1:
        return SEVERITY.critical;
      case 2:
        return SEVERITY.error;
      case 3:
        return SEVERITY.warning;
      case 4:
        return SEVERITY.info;
      case 5:
        return SEVERITY.debug;
      default:
        return null;
    }
  }
  if (typeof level !== 'string') return null;
  switch (level.toLowerCase()) {
    case 'critical':
      return SEVERITY.critical;
    case 'error':
      return SEVERITY.error;
    case 'warning':
      return SEVERITY.warning;
    case 'information':
    case 'informational':
    case 'info':
      return SEVERITY.info;
    case 'verbose':
    case 'debug':
      return SEVERITY.debug;
    default:
      return null;
  }
}

/** NXLog `SeverityValue`: 1 DEBUG, 2 INFO, 3 WARNING, 4 ERROR, 5 CRITICAL. */
export function nxlogSeverity(value: unknown): number | null {
  switch (Number(value)) {
    case 1:
      return SEVERITY.debug;
    case 2:
      return SEVERITY.info;
    case 3:
      return SEVERITY.warning;
    case 4:
      return SEVERITY.error;
    case 5:
      return SEVERITY.critical;
    default:
      return null;
  }
}

/** Azure Activity Log `level` (Critical, Error, Warning, Informational/Information, Verbose). */
export function azureSeverity(level: unknown): number | null {
  if (typeof level !== 'string') return null;
  switch (level.toLowerCase()) {
    case 'critical':
      return SEVERITY.critical;
    case 'error':
      return SEVERITY.error;
    case 'warning':
      return SEVERITY.warning;
    case 'informational':
    case 'information':
      return SEVERITY.info;
    case 'verbose':
      return SEVERITY.debug;
    default:
      return null;
  }
}

/**
 * GCP `LogSeverity`, by name or number (DEFAULT 0, DEBUG 100, INFO 200, NOTICE 300, WARNING 400,
 * ERROR 500, CRITICAL 600, ALERT 700, EMERGENCY 800). DEFAULT ("no severity") reads as info.
 */
const GCP_NAMES: Record<string, number> = {
  DEFAULT: 6,
  DEBUG: 7,
  INFO: 6,
  NOTICE: 5,
  WARNING: 4,
  ERROR: 3,
  CRITICAL: 2,
  ALERT: 1,
  EMERGENCY: 0,
};
const GCP_NUMBERS: Record<number, number> = {
  0: 6,
  100: 7,
  200: 6,
  300: 5,
  400: 4,
  500: 3,
  600: 2,
  700: 1,
  800: 0,
};

export function gcpSeverity(sev: unknown): number | null {
  if (typeof sev === 'number') return GCP_NUMBERS[sev] ?? null;
  if (typeof sev !== 'string') return null;
  return GCP_NAMES[sev.toUpperCase()] ?? null;
}

/**
 * The cloud audit trails (CloudTrail, Azure records without a level, GCP audit entries) carry no
 * severity of their own: a denied or failed call is a warning, an accepted one is info.
 */
export function auditOutcomeSeverity(outcome: 'success' | 'failure' | 'unknown'): number {
  return outcome === 'failure' ? SEVERITY.warning : SEVERITY.info;
}
