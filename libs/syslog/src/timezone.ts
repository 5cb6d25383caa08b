import { SiemError } from '@siem/core';

/**
 * UTC offsets of an IANA zone, for timestamps that carry no offset (RFC 3164 senders). Intl is slow
 * (microseconds per call), so offsets are cached per hour: zones change offset at most once in an
 * hour, on the hour or the half hour, and the cache is keyed by the hour either side of a change.
 */
export class ZoneClock {
  readonly zone: string;
  readonly isUtc: boolean;
  readonly #format: Intl.DateTimeFormat | null;
  /** hour index (local or instant, by map) → offset in minutes */
  readonly #byInstantHour = new Map<number, number>();
  readonly #suffixByLocalHour = new Map<number, string>();
  readonly #offsetByLocalHour = new Map<number, number>();

  constructor(zone: string) {
    this.zone = zone;
    const z = zone.toUpperCase();
    this.isUtc = z === 'UTC' || z === 'ETC/UTC' || z === 'GMT' || z === 'ETC/GMT' || z === 'Z' || z === 'UCT';
    this.#format = this.isUtc
      ? null
      : new Intl.DateTimeFormat('en-US', {
          timeZone: zone,
          hourCycle: 'h23',
          year: 'numeric',
          month: 'numeric',
          day: 'numeric',
          hour: 'numeric',
          minute: 'numeric',
          second: 'numeric',
        });
  }

  /** Offset in minutes (east positive) at an instant. */
  offsetAtInstant(ms: number): number {
    if (this.#format === null) return 0;
    const hour = Math.floor(ms / 3_600_000);
    let off = this.#byInstantHour.get(hour);
    if (off === undefined) {
      off = this.#compute(ms);
      const atEnd = this.#compute(hour * 3_600_000 + 3_599_000);
      // a change inside this hour (rare): do not cache, compute exactly every time
      if (atEnd !== this.#compute(hour * 3_600_000)) return off;
      if (this.#byInstantHour.size > 50_000) this.#byInstantHour.clear();
      this.#byInstantHour.set(hour, off);
    }
    return off;
  }

  /** Offset in minutes for a wall-clock time in this zone, given as if it were UTC milliseconds. */
  offsetAtLocal(localMs: number): number {
    if (this.#format === null) return 0;
    const hour = Math.floor(localMs / 3_600_000);
    let off = this.#offsetByLocalHour.get(hour);
    if (off === undefined) {
      const guess = this.offsetAtInstant(localMs);
      off = this.offsetAtInstant(localMs - guess * 60_000);
      if (this.#offsetByLocalHour.size > 50_000) this.#offsetByLocalHour.clear();
      this.#offsetByLocalHour.set(hour, off);
    }
    return off;
  }

  /** `Z` for UTC, else `+hh:mm` / `-hh:mm` for a wall-clock time in this zone. */
  suffixAtLocal(localMs: number): string {
    if (this.#format === null) return 'Z';
    const hour = Math.floor(localMs / 3_600_000);
    let s = this.#suffixByLocalHour.get(hour);
    if (s === undefined) {
      s = formatOffset(this.offsetAtLocal(localMs));
      if (this.#suffixByLocalHour.size > 50_000) this.#suffixByLocalHour.clear();
      this.#suffixByLocalHour.set(hour, s);
    }
    return s;
  }

  #compute(ms: number): number {
    let y = 0;
    let mo = 0;
    let d = 0;
    let h = 0;
    let mi = 0;
    let s = 0;
    for (const p of this.#format!.formatToParts(ms)) {
      switch (p.type) {
        case 'year':
          y = Number(p.value);
          break;
        case 'month':
          mo = Number(p.value);
          break;
        case 'day':
          d = Number(p.value);
          break;
        case 'hour':
          h = Number(p.value);
          break;
        case 'minute':
          mi = Number(p.value);
          break;
        case 'second':
          s = Number(p.value);
          break;
      }
    }
    const wall = Date.UTC(y, mo - 1, d, h, mi, s);
    return Math.round((wall - Math.floor(ms / 1000) * 1000) / 60_000);
  }
}

export function formatOffset(minutes: number): string {
  if (minutes === 0) return '+00:00';
  const sign = minutes < 0 ? '-' : '+';
  const a = Math.abs(minutes);
  const h = Math.floor(a / 60);
  const m = a % 60;
  return `${sign}${h < 10 ? '0' : ''}${h}:${m < 10 ? '0' : ''}${m}`;
}

const clocks = new Map<string, ZoneClock>();

/** The (shared) clock of a zone; throws SIEM_ERR_CONFIG_INVALID for a zone Intl does not know. */
export function zoneClock(zone: string): ZoneClock {
  let c = clocks.get(zone);
  if (c === undefined) {
    try {
      c = new ZoneClock(zone);
    } catch (cause) {
      throw new SiemError('SIEM_ERR_CONFIG_INVALID', `unknown time zone "${zone}" (expected an IANA name)`, {
        cause,
        details: [{ path: 'default_timezone', message: `unknown time zone "${zone}"` }],
      });
    }
    clocks.set(zone, c);
  }
  return c;
}

export function isValidTimeZone(zone: string): boolean {
  try {
    zoneClock(zone);
    return true;
  } catch {
    return false;
  }
}
