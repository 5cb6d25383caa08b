import { checkAgainst } from '@siem/config';
import { type AdapterFactory, SiemError, type Source, type SourceContext } from '@siem/core';
import { type WindowsEventsOptions, windowsEventsOptionsSchema } from './options.js';
import { WindowsEventsSource } from './source.js';

/** Validates options against the schema, filling defaults (a partial object from the API or a test). */
function resolve(options: unknown): WindowsEventsOptions {
  const copy = structuredClone(options ?? {}) as object;
  const problems = checkAgainst(windowsEventsOptionsSchema, copy);
  if (problems.length > 0) {
    throw new SiemError(
      'SIEM_ERR_CONFIG_INVALID',
      `windows_events options: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
      { details: problems },
    );
  }
  return copy as WindowsEventsOptions;
}

/** Options as the configuration or the control API may give them: any key left out takes its default. */
export type WindowsEventsInput = {
  [K in keyof WindowsEventsOptions]?: WindowsEventsOptions[K] extends object
    ? Partial<WindowsEventsOptions[K]>
    : WindowsEventsOptions[K];
};

/** `windows_events`: NDJSON and Beats/Lumberjack v2 over TCP or TLS on one port (default 5515). */
export const windowsEventsAdapter: AdapterFactory<WindowsEventsInput> = {
  type: 'windows_events',
  schema: windowsEventsOptionsSchema,
  create(name: string, options: WindowsEventsInput, context: SourceContext): Source {
    return new WindowsEventsSource(name, resolve(options), context);
  },
};
