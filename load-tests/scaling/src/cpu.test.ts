import { describe, expect, it } from 'vitest';
import { parseMachineCpu, parseProcStat, procStat } from './cpu.js';

describe('parseProcStat', () => {
  it('reads ppid, utime + stime and the reaped children, past a name with spaces and parentheses', () => {
    // fields: pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime …
    const line = '4242 (node (main) x) S 17 4242 17 0 -1 4194304 900 0 0 0 1234 566 70 30 20 0 11 0 99 1 2';
    expect(parseProcStat(line)).toEqual({ ppid: 17, cpuSeconds: 18, childrenCpuSeconds: 1 });
  });

  it('refuses text that is not a stat line', () => {
    expect(() => parseProcStat('no parenthesis here')).toThrow(/not a \/proc/);
    expect(() => parseProcStat('1 (x) S 1 1 1 0 -1 0 0 0 0 0 abc 1 0 0')).toThrow(/field 14/);
  });

  it('agrees with the kernel for this process', () => {
    const s = procStat('self');
    expect(s.ppid).toBe(process.ppid);
    const used = process.cpuUsage();
    // /proc counts in 10 ms ticks: allow two ticks of rounding either way
    expect(Math.abs(s.cpuSeconds - (used.user + used.system) / 1e6)).toBeLessThan(0.05);
  });
});

describe('parseMachineCpu', () => {
  it('counts iowait as idle and every other column up to steal as busy', () => {
    const text = 'cpu  100 5 50 1000 20 3 2 1 7 0\ncpu0 50 2 25 500 10 1 1 0 0 0\nintr 1\n';
    expect(parseMachineCpu(text)).toEqual({ busySeconds: 1.61, idleSeconds: 10.2 });
  });

  it('refuses a file without the total line', () => {
    expect(() => parseMachineCpu('cpu0 1 2 3 4 5 6 7 8\n')).toThrow(/no "cpu " line/);
  });
});
