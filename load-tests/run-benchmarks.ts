/**
 * `npm run bench [filter]`: runs every benchmark (`libs/<component>/bench/*.bench.ts`) one after the
 * other, each in its own process so one's heap and JIT state never colour another's figures. Each
 * benchmark writes its JSON to bench/results/ and prints a human summary.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { nodeArgsFor } from '@siem/core';

const root = fileURLToPath(new URL('..', import.meta.url));
const filter = process.argv[2] ?? '';
const files: string[] = [];
for (const lib of readdirSync(join(root, 'libs'))) {
  const dir = join(root, 'libs', lib, 'bench');
  if (!existsSync(dir)) continue;
  for (const f of readdirSync(dir).sort()) {
    if (f.endsWith('.bench.ts') && join(lib, f).includes(filter)) files.push(join(dir, f));
  }
}
if (files.length === 0) {
  process.stderr.write(`no benchmark matches "${filter}"\n`);
  process.exit(1);
}
let failed = 0;
for (const file of files) {
  process.stdout.write(`\n== ${file.slice(root.length)}\n`);
  const r = spawnSync(process.execPath, [...nodeArgsFor(pathToFileURL(file))], {
    stdio: 'inherit',
    cwd: root,
  });
  if (r.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
