import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { MemoryIntake, testContext } from '@siem/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { syslogTcpAdapter, syslogUdpAdapter } from './adapters.js';

/** Real clients: util-linux `logger` over UDP and TCP (LF and octet-counting framing). */
const run = promisify(execFile);
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(stops.splice(0).map((s) => s()));
});

async function start(kind: 'udp' | 'tcp', intake: MemoryIntake): Promise<number> {
  const factory = kind === 'udp' ? syslogUdpAdapter : syslogTcpAdapter;
  const s = factory.create(`syslog_${kind}`, { host: '127.0.0.1', port: 0 }, testContext(intake));
  await s.start();
  stops.push(() => s.stop());
  return Number(s.status().listen!.split(':').pop());
}

const logger = (args: string[]) => run('logger', args, { timeout: 10_000 });

describe('util-linux logger against the listeners', () => {
  it('logger --udp --rfc5424 (with structured data and a MSGID)', async () => {
    const intake = new MemoryIntake();
    const port = await start('udp', intake);
    await logger([
      '-n',
      '127.0.0.1',
      '-P',
      String(port),
      '-d',
      '--rfc5424',
      '-t',
      'myapp',
      '-p',
      'auth.warning',
      '--msgid',
      'LOGIN',
      '--sd-id',
      'origin@32473',
      '--sd-param',
      'software="siem-test"',
      'hello over udp',
    ]);
    await intake.waitFor(1);
    const e = intake.events()[0]!;
    expect(e.syslog).toMatchObject({
      format: 'rfc5424',
      facility: 4,
      severity: 4,
      appName: 'myapp',
      msgId: 'LOGIN',
    });
    expect(e.syslog!.structuredData?.['origin@32473']).toEqual({ software: 'siem-test' });
    expect(e.syslog!.structuredData?.timeQuality).toBeDefined();
    expect(e.payload.toString().endsWith('hello over udp')).toBe(true);
    expect(e.parseError).toBeNull();
    expect(e.source.transport).toBe('udp');
  });

  it('logger --udp --rfc3164', async () => {
    const intake = new MemoryIntake();
    const port = await start('udp', intake);
    await logger([
      '-n',
      '127.0.0.1',
      '-P',
      String(port),
      '-d',
      '--rfc3164',
      '-t',
      'legacy',
      '-i',
      'old style',
    ]);
    await intake.waitFor(1);
    const e = intake.events()[0]!;
    expect(e.syslog).toMatchObject({ format: 'rfc3164', facility: 1, severity: 5, appName: 'legacy' });
    expect(e.syslog!.procId).toMatch(/^\d+$/);
    expect(e.syslog!.hostname).not.toBeNull();
    expect(e.payload.subarray(e.syslog!.msgOffset!).toString()).toBe('old style');
  });

  it('logger --tcp, LF framing and octet counting, several lines from stdin', async () => {
    const intake = new MemoryIntake();
    const port = await start('tcp', intake);
    await logger(['-n', '127.0.0.1', '-P', String(port), '-T', '--rfc5424', '-t', 'lf', 'one line']);
    await logger([
      '-n',
      '127.0.0.1',
      '-P',
      String(port),
      '-T',
      '--octet-count',
      '--rfc5424',
      '-t',
      'oc',
      'counted',
    ]);
    // several messages over one connection: logger sends each stdin line as a message
    const child = spawn('logger', [
      '-n',
      '127.0.0.1',
      '-P',
      String(port),
      '-T',
      '--octet-count',
      '-t',
      'multi',
    ]);
    child.stdin.end('first\nsecond\nthird\n');
    await new Promise((r) => child.once('exit', r));
    await intake.waitFor(5);
    const byApp = Object.fromEntries(intake.events().map((e) => [e.syslog!.appName, e]));
    expect(byApp.lf!.payload.toString().endsWith('one line')).toBe(true);
    expect(byApp.oc!.payload.toString().endsWith('counted')).toBe(true);
    expect(byApp.oc!.source.transport).toBe('tcp');
    const multi = intake.events().filter((e) => e.syslog!.appName === 'multi');
    expect(multi.map((e) => e.payload.subarray(e.syslog!.msgOffset!).toString())).toEqual([
      'first',
      'second',
      'third',
    ]);
    expect(new Set(multi.map((e) => e.source.peerPort)).size).toBe(1);
  });
});
