import { cloudKinds } from './cloud-kinds.js';
import type { Channel, Kind } from './kind.js';
import { syslogKinds } from './syslog-kinds.js';
import { windowsKinds } from './windows-kinds.js';

/** Every kind, by channel. */
export const allKinds: readonly Kind[] = [...syslogKinds, ...windowsKinds, ...cloudKinds];

export function kindsOf(channel: Channel): readonly Kind[] {
  return allKinds.filter((k) => k.channel === channel);
}

/**
 * The kinds of `channel` named in `names` (all of the channel when null), or the reason they cannot
 * be used: a name that is no kind, or one the channel's protocol cannot carry.
 */
export function selectKinds(channel: Channel, names: readonly string[] | null): readonly Kind[] | string {
  const own = kindsOf(channel);
  if (names === null) return own;
  const out: Kind[] = [];
  for (const name of names) {
    const kind = allKinds.find((k) => k.name === name);
    if (kind === undefined) return `unknown kind ${name}; kinds: ${allKinds.map((k) => k.name).join(', ')}`;
    if (kind.channel !== channel) {
      return `kind ${name} is a ${kind.channel} event, which this protocol does not carry (its kinds: ${own.map((k) => k.name).join(', ')})`;
    }
    if (!out.includes(kind)) out.push(kind);
  }
  return out.length === 0 ? 'no kinds selected' : out;
}
