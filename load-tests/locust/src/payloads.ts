import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { PayloadKind } from './scenarios.js';

/** emit-sample's protocol for each payload kind (issue 16: `--protocol udp|tcp|tls|lumberjack|http`). */
const generatorProtocol: Record<PayloadKind, string> = {
  syslog: 'tcp',
  winlogbeat: 'lumberjack',
  cloudtrail: 'http',
};

export interface PayloadFile {
  file: string;
  /** `siem emit-sample` or the fixture samples it fell back to, and why. */
  source: string;
}

/**
 * The events a scenario sends: from the project's generator (`siem emit-sample --out FILE`, one frame
 * per line) when the checkout has it, else from the fixture samples the parsers and normalizers are
 * tested with (real device formats, fewer distinct events).
 */
export function makePayloadFile(root: string, kind: PayloadKind, file: string, count: number): PayloadFile {
  mkdirSync(dirname(file), { recursive: true });
  let why = 'the checkout has no `siem emit-sample`';
  if (existsSync(join(root, 'apps/cli/src/commands/emit-sample.ts'))) {
    const args = ['--conditions=source', '--import', 'tsx', join(root, 'apps/cli/src/main.ts')];
    const r = spawnSync(
      process.execPath,
      [
        ...args,
        'emit-sample',
        String(count),
        '--protocol',
        generatorProtocol[kind],
        '--seed',
        '19',
        '--out',
        file,
      ],
      { cwd: root, encoding: 'utf8', timeout: 120_000 },
    );
    if (r.status === 0 && existsSync(file) && readFileSync(file).length > 0)
      return { file, source: `siem emit-sample ${count} --protocol ${generatorProtocol[kind]} --seed 19` };
    why = `siem emit-sample failed: ${(r.stderr ?? r.error?.message ?? '').trim().split('\n')[0]}`;
  }
  writeFileSync(file, `${fixtureLines(root, kind).join('\n')}\n`);
  return { file, source: `fixture samples (${why})` };
}

function jsonFiles(dir: string, prefix: string): unknown[] {
  return readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')));
}

export function fixtureLines(root: string, kind: PayloadKind): string[] {
  if (kind === 'syslog') {
    const devices = JSON.parse(readFileSync(join(root, 'libs/syslog/src/fixtures/devices.json'), 'utf8')) as {
      samples: { raw: string }[];
    };
    return devices.samples.map((s) => s.raw).filter((raw) => !raw.includes('\n'));
  }
  const fixtures = join(root, 'libs/normalize/src/fixtures');
  if (kind === 'winlogbeat')
    return jsonFiles(join(fixtures, 'windows'), 'winlogbeat-').map((d) => JSON.stringify(d));
  return jsonFiles(join(fixtures, 'cloudtrail'), '').flatMap((d) =>
    ((d as { Records?: unknown[] }).Records ?? [d]).map((r) => JSON.stringify(r)),
  );
}
