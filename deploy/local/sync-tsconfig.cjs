// Keeps the TypeScript project references in step with the workspaces' package.json dependencies:
// every workspace gets a tsconfig.json referencing the workspaces it depends on, and the root
// tsconfig.json references them all. Run from the repository root after changing dependencies:
//   npm run sync:tsconfig
const fs = require('node:fs'),
  path = require('node:path');
const { execFileSync } = require('node:child_process');
const written = [];
const root = JSON.parse(fs.readFileSync('package.json'));
const dirs = [];
for (const w of root.workspaces) {
  if (w.endsWith('/*')) for (const d of fs.readdirSync(w.slice(0, -2))) dirs.push(w.slice(0, -1) + d);
  else dirs.push(w);
}
const byName = {};
for (const d of dirs) byName[JSON.parse(fs.readFileSync(`${d}/package.json`)).name] = d;
for (const d of dirs) {
  const p = JSON.parse(fs.readFileSync(`${d}/package.json`));
  const refs = Object.keys({ ...(p.dependencies || {}), ...(p.devDependencies || {}) })
    .filter((n) => byName[n])
    .map((n) => ({ path: path.relative(d, byName[n]) }));
  const cfg = {
    extends: path.relative(d, 'tsconfig.base.json'),
    compilerOptions: { rootDir: '.', outDir: 'dist', tsBuildInfoFile: 'dist/.tsbuildinfo' },
    include: ['src', 'bench'],
    exclude: ['src/**/*.test.ts', ...(p.name === '@siem/api' ? ['src/testing'] : [])],
    references: refs,
  };
  fs.writeFileSync(`${d}/tsconfig.json`, `${JSON.stringify(cfg, null, 2)}\n`);
  written.push(`${d}/tsconfig.json`);
}
fs.writeFileSync(
  'tsconfig.json',
  `${JSON.stringify({ files: [], references: [...dirs, 'load-tests'].map((d) => ({ path: d })) }, null, 2)}\n`,
);
execFileSync('npx', ['biome', 'format', '--write', 'tsconfig.json', ...written], { stdio: 'ignore' });
