import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * Kernel statistics of one UDP socket from /proc/net/udp and /proc/net/udp6 (Linux): the datagrams
 * the kernel dropped because the receive buffer was full, and the bytes waiting in it. Our socket is
 * found by its inode (a port can be shared through SO_REUSEPORT by other processes).
 */
export interface UdpSocketStats {
  drops: number;
  rxQueueBytes: number;
}

interface ProcLine {
  port: number;
  inode: string;
  rxQueue: number;
  drops: number;
}

function readTable(file: string): ProcLine[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: ProcLine[] = [];
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i]!.trim().split(/\s+/);
    if (f.length < 13) continue;
    const local = f[1]!;
    const colon = local.lastIndexOf(':');
    const queues = f[4]!.split(':');
    out.push({
      port: Number.parseInt(local.slice(colon + 1), 16),
      inode: f[9]!,
      rxQueue: Number.parseInt(queues[1] ?? '0', 16),
      drops: Number.parseInt(f[12]!, 10),
    });
  }
  return out;
}

function tables(): ProcLine[] {
  return [...readTable('/proc/net/udp'), ...readTable('/proc/net/udp6')];
}

/** The inode of this process's UDP socket bound to `port`, or null (not Linux, or not found). */
export function findOwnUdpInode(port: number): string | null {
  const candidates = new Set(
    tables()
      .filter((l) => l.port === port)
      .map((l) => l.inode),
  );
  if (candidates.size === 0) return null;
  let fds: string[];
  try {
    fds = readdirSync('/proc/self/fd');
  } catch {
    return null;
  }
  for (const fd of fds) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    if (target.startsWith('socket:[')) {
      const inode = target.slice(8, -1);
      if (candidates.has(inode)) return inode;
    }
  }
  return null;
}

export function readUdpSocketStats(inode: string): UdpSocketStats | null {
  for (const l of tables()) {
    if (l.inode === inode) return { drops: l.drops, rxQueueBytes: l.rxQueue };
  }
  return null;
}
