/**
 * Where a V8 CPU profile (node --cpu-prof) spends its time: self time per function and per file,
 * largest first, as a share of the busy (non-idle) time. The TypeScript sources run through tsx, whose
 * output keeps function names but not line numbers, so functions are named by file.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface HotSpot {
  name: string;
  self_ms: number;
  busy_percent: number;
}

export interface ProfileSummary {
  sampled_ms: number;
  idle_ms: number;
  functions: HotSpot[];
  files: HotSpot[];
}

function shortUrl(url: string): string {
  if (url === '') return '(native)';
  const m = /(?:node_modules\/(.+)|\/((?:libs|apps)\/.+))$/.exec(url);
  return m ? (m[1] ?? m[2]!) : url.replace(/^file:\/\//, '');
}

/** Our files and Node's by path; a dependency by its package name. */
function fileKey(where: string): string {
  if (/^(libs|apps)\//.test(where) || where.startsWith('node:') || where.startsWith('/')) return where;
  const parts = where.split('/');
  return where.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

function top(map: Map<string, number>, busy: number, n: number): HotSpot[] {
  return [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, us]) => ({
      name,
      self_ms: Math.round(us / 1000),
      busy_percent: Math.round((us / busy) * 1000) / 10,
    }));
}

export function summarizeProfile(file: string, n = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const fns = new Map<string, number>();
  const files = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const cf = byId.get(profile.samples[i]!)!.callFrame;
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    if (cf.functionName === '(idle)') {
      idle += dt;
      continue;
    }
    const where = cf.url === '' ? '' : shortUrl(cf.url);
    const fn = `${cf.functionName === '' ? '(anonymous)' : cf.functionName}${where === '' ? '' : ` (${where})`}`;
    fns.set(fn, (fns.get(fn) ?? 0) + dt);
    const f = where === '' ? cf.functionName : fileKey(where);
    files.set(f, (files.get(f) ?? 0) + dt);
  }
  const busy = Math.max(1, total - idle);
  return {
    sampled_ms: Math.round(total / 1000),
    idle_ms: Math.round(idle / 1000),
    functions: top(fns, busy, n),
    files: top(files, busy, n),
  };
}
