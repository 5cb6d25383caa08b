/**
 * CPU accounting from /proc for the scaling benchmark: a process's own time, the time of a server's
 * worker processes (PostgreSQL runs one backend per connection), and the whole machine's busy time.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ: /proc reports CPU time in clock ticks of 1/100 s on Linux. */
const TICK = 100;

export interface ProcStat {
  ppid: number;
  /** utime + stime (every thread), seconds. */
  cpuSeconds: number;
  /** cutime + cstime: reaped children, seconds. */
  childrenCpuSeconds: number;
}

/** Parses /proc/<pid>/stat; the command name may hold spaces and parentheses, so fields count from the last ')'. */
export function parseProcStat(text: string): ProcStat {
  const close = text.lastIndexOf(')');
  if (close < 0) throw new Error(`not a /proc/<pid>/stat line: ${text.slice(0, 80)}`);
  // fields after the name, starting with field 3 (state): ppid is field 4, utime 14 … cstime 17
  const f = text.slice(close + 2).split(' ');
  const n = (i: number) => {
    const v = Number(f[i]);
    if (!Number.isFinite(v)) throw new Error(`/proc stat field ${i + 3} is not a number: ${f[i]}`);
    return v;
  };
  return {
    ppid: n(1),
    cpuSeconds: (n(11) + n(12)) / TICK,
    childrenCpuSeconds: (n(13) + n(14)) / TICK,
  };
}

/** Busy and idle seconds of all cores together, from the `cpu ` line of /proc/stat. */
export function parseMachineCpu(procStat: string): { busySeconds: number; idleSeconds: number } {
  const line = procStat.split('\n').find((l) => l.startsWith('cpu '));
  if (line === undefined) throw new Error('/proc/stat has no "cpu " line');
  // user nice system idle iowait irq softirq steal (guest time is already inside user)
  const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (v.length < 8 || v.some((x) => !Number.isFinite(x))) throw new Error(`bad /proc/stat line: ${line}`);
  const idle = v[3]! + v[4]!;
  const busy = v.reduce((a, b) => a + b, 0) - idle;
  return { busySeconds: busy / TICK, idleSeconds: idle / TICK };
}

export function procStat(pid: number | 'self'): ProcStat {
  return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

export function machineBusySeconds(): number {
  return parseMachineCpu(readFileSync('/proc/stat', 'utf8')).busySeconds;
}

/** CPU seconds of `pid` and of its live child processes (a server and its workers). 0 once gone. */
export function treeCpuSeconds(pid: number): number {
  let sum = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = procStat(Number(d));
      if (Number(d) === pid || s.ppid === pid) sum += s.cpuSeconds;
    } catch {
      /* the process has ended */
    }
  }
  return sum;
}
