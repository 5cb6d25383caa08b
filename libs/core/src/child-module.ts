import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * How to run a module of this project in a child process. Compiled code (`dist/*.js`) runs under plain
 * node; TypeScript sources (tests, `npm run stack`) run through the tsx loader with the `source` export
 * condition, so a child sees the same code as its parent without a build.
 */
export function nodeArgsFor(moduleUrl: string | URL): string[] {
  const file = fileURLToPath(moduleUrl);
  if (!file.endsWith('.ts')) return [file];
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return ['--conditions=source', '--import', tsx, file];
}
