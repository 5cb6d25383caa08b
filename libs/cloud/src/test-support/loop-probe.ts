import { spawn } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { MemoryIntake, testContext, until } from '@siem/core/testing';
import { type SyslogUdpSource, syslogUdpAdapter } from '@siem/syslog';

/**
 * Whether this process stays responsive while `work` runs: the event loop's longest delay
 * (perf_hooks.monitorEventLoopDelay), and a syslog UDP listener on port 0 in this same process fed by
 * another process at a steady rate — every datagram must arrive, none dropped by the kernel (the
 * listener reads its socket's drop counter from /proc/net/udp). A frozen loop fills the socket's receive
 * buffer and the kernel drops what comes next, as the issue saw (27,117 of 40,000 lost in 17 s).
 */
export interface LoopProbeResult<T> {
  result: T;
  maxLagMs: number;
  sent: number;
  received: number;
  kernelDrops: number;
}

export async function withLoopProbe<T>(
  work: () => Promise<T>,
  o: { datagramsPerSecond?: number; seconds?: number } = {},
): Promise<LoopProbeResult<T>> {
  const rate = o.datagramsPerSecond ?? 10_000;
  const total = Math.round(rate * (o.seconds ?? 2));
  const intake = new MemoryIntake();
  const udp = syslogUdpAdapter.create(
    'probe_udp',
    { host: '127.0.0.1', port: 0, kernel_stats_interval_ms: 0 },
    testContext(intake),
  ) as SyslogUdpSource;
  await udp.start();
  const port = Number(udp.status().listen!.split(':').pop());
  // a steady sender: `rate / 100` datagrams every 10 ms, `total` in all
  const sender = spawn(
    process.execPath,
    [
      '-e',
      `const s=require('dgram').createSocket('udp4');let n=0;const per=${Math.max(1, Math.round(rate / 100))};` +
        `const t=setInterval(()=>{for(let i=0;i<per&&n<${total};i++)s.send('<13>Jan 18 11:07:53 probe p: '+n++,${port},'127.0.0.1');` +
        `if(n>=${total}){clearInterval(t);setTimeout(()=>s.close(),50)}},10)`,
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => sender.once('exit', () => resolve()));
  const lag = monitorEventLoopDelay({ resolution: 5 });
  lag.enable();
  try {
    const result = await work();
    await exited;
    lag.disable();
    await until(() => (udp.status().counters.received_events ?? 0) >= total, 5000, 'probe datagrams').catch(
      () => undefined, // counted below: what did not arrive is the finding
    );
    udp.readKernelStats();
    const c = udp.status().counters;
    return {
      result,
      maxLagMs: lag.max / 1e6,
      sent: total,
      received: c.received_events ?? 0,
      kernelDrops: c.kernel_drops ?? 0,
    };
  } finally {
    lag.disable();
    if (sender.exitCode === null) sender.kill();
    await udp.stop();
  }
}
