import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * The web console: browser code in web/ bundled by build.mjs (`npm run build`) into dist/www, which
 * the API server serves at /console/ (libs/api finds this package by name, see its console.ts). This
 * door only says where the built files are.
 */
export function consoleStaticDir(): string {
  return join(dirname(createRequire(import.meta.url).resolve('@siem/console/package.json')), 'dist', 'www');
}
