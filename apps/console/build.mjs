// Bundles the console (web/main.tsx and its CSS) into dist/www with esbuild: content-hashed file names
// (the API serves them as immutable) and an index.html that names them. Run from anywhere:
//   node apps/console/build.mjs [--dev]   (--dev: no minification, inline source maps)
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'dist', 'www');
const dev = process.argv.includes('--dev');
const started = Date.now();

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const result = await build({
  entryPoints: [join(here, 'web', 'main.tsx')],
  bundle: true,
  outdir: out,
  entryNames: '[name]-[hash]',
  format: 'esm',
  target: ['chrome110', 'firefox115', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: !dev,
  sourcemap: dev ? 'inline' : 'linked',
  metafile: true,
  legalComments: 'linked',
  logLevel: 'warning',
});
// the live tail's worker: a fixed name (the page constructs its URL), served revalidated like the page
const worker = await build({
  entryPoints: [join(here, 'web', 'tail-worker.ts')],
  bundle: true,
  outdir: out,
  entryNames: '[name]',
  format: 'esm',
  target: ['chrome110', 'firefox115', 'safari16'],
  minify: !dev,
  sourcemap: dev ? 'inline' : 'linked',
  metafile: true,
  logLevel: 'warning',
});
const outputs = [...Object.keys(result.metafile.outputs), ...Object.keys(worker.metafile.outputs)].map((p) =>
  basename(p),
);
const js = outputs.find((f) => /^main-.*\.js$/.test(f));
const css = outputs.find((f) => /^main-.*\.css$/.test(f));
if (js === undefined || css === undefined)
  throw new Error(`esbuild gave no main js/css: ${outputs.join(', ')}`);
const html = readFileSync(join(here, 'web', 'index.html'), 'utf8')
  .replace('__JS__', js)
  .replace('__CSS__', css);
writeFileSync(join(out, 'index.html'), html);
const bytes = [result, worker]
  .flatMap((r) => Object.values(r.metafile.outputs))
  .reduce((s, o) => s + o.bytes, 0);
console.log(
  `console: ${outputs.length + 1} files, ${(bytes / 1024).toFixed(0)} KiB in dist/www (${Date.now() - started} ms)`,
);
