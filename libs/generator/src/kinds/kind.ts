import type { TimeText } from '../clock.js';
import type { Population } from '../population.js';
import type { Prng } from '../prng.js';

/** Which intake a kind's events go to: syslog (UDP/TCP/TLS), Windows events, or the cloud intake. */
export type Channel = 'syslog' | 'windows' | 'cloud';
export type CloudType = 'cloudtrail' | 'azure_activity' | 'gcp_logging';

export interface KindContext {
  rng: Prng;
  pop: Population;
  /** The event's time, in every text form a kind needs. */
  t: TimeText;
  /** During a brute-force burst: the attacking address (the kind renders a failed attempt from it). */
  attacker: string | null;
  /** Counts events of the run: record ids, sequence numbers. */
  seq: number;
}

export interface Kind {
  name: string;
  channel: Channel;
  /** The intake route of a cloud kind. */
  cloudType?: CloudType;
  /** Share of its channel's traffic, relative to the other kinds of the channel. */
  weight: number;
  /** Renders failed attempts during brute-force bursts. */
  attack: boolean;
  summary: string;
  /** One event: a syslog line (no newline), or one JSON document / cloud record. */
  render(ctx: KindContext): string;
}
