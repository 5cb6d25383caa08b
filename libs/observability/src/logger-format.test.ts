import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { resolveLogFormat } from './logger.js';

const logger = fileURLToPath(new URL('./logger.ts', import.meta.url));

/** Logs two lines in a child process with the given format; its stdout is a pipe, never a terminal. */
function logWith(format: string): string {
  const script = [
    `import { createLogger } from ${JSON.stringify(logger)};`,
    `const l = createLogger({ level: 'info', name: 'demo', format: ${JSON.stringify(format)} });`,
    `l.info({ listen: 'udp://0.0.0.0:5514' }, 'adapter listening');`,
    `l.warn({ code: 'SIEM_ERR_X' }, 'something odd');`,
    'l.flush();',
  ].join('\n');
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(r.stderr).toBe('');
  return r.stdout;
}

describe('log format', () => {
  it('auto is JSON when the output is no terminal; json and pretty are forced', () => {
    // vitest's workers write to pipes
    expect(resolveLogFormat('auto', 1)).toBe(process.stdout.isTTY === true ? 'pretty' : 'json');
    expect(resolveLogFormat('json', 1)).toBe('json');
    expect(resolveLogFormat('pretty', 2)).toBe('pretty');
  });

  it('writes JSON lines by default and with auto on a pipe', () => {
    for (const format of ['json', 'auto']) {
      const lines = logWith(format).trim().split('\n');
      expect(lines).toHaveLength(2);
      expect(JSON.parse(lines[0]!)).toMatchObject({
        level: 'info',
        component: 'demo',
        msg: 'adapter listening',
      });
    }
  });

  it('writes readable lines with pretty: time, level, message, fields, no colour on a pipe', () => {
    const lines = logWith('pretty').trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: adapter listening \{"listen":"udp:\/\/0\.0\.0\.0:5514"\}$/,
    );
    expect(lines[1]).toMatch(/WARN: something odd \{"code":"SIEM_ERR_X"\}$/);
    expect(lines.join('\n')).not.toMatch(/\x1b\[/);
  });
});
