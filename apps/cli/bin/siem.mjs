#!/usr/bin/env node
/**
 * The `siem` command as npm links it (`npx siem …`): the build (dist/, made by `npm run build` and by
 * `npm start`) when there is one, else the TypeScript sources through tsx, so the command works right
 * after `npm ci`. From source, workspace packages resolve through their `source` export condition, as in
 * the tests; the condition is added by a resolve hook, in this process, so signals reach the CLI
 * itself and nothing is left behind when it exits.
 */
import { existsSync } from 'node:fs';
import { register } from 'node:module';
import { fileURLToPath } from 'node:url';

const built = new URL('../dist/src/main.js', import.meta.url);
if (existsSync(fileURLToPath(built))) {
  await import(built.href);
} else {
  const { register: registerTsx } = await import('tsx/esm/api');
  registerTsx();
  // Registered after tsx, so it runs first and tsx resolves with the condition already in place.
  register(
    `data:text/javascript,${encodeURIComponent(
      "export function resolve(s, c, next) { return next(s, { ...c, conditions: ['source', ...c.conditions] }); }",
    )}`,
  );
  await import(new URL('../src/main.ts', import.meta.url).href);
}
