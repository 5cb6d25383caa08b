import { type AdapterInput, defineAdapter } from '@siem/config';
import { type WindowsEventsOptions, windowsEventsOptionsSchema } from './options.js';
import { WindowsEventsSource } from './source.js';

/** Options as the configuration or the control API may give them: any key left out takes its default. */
export type WindowsEventsInput = AdapterInput<WindowsEventsOptions>;

/** `windows_events`: NDJSON and Beats/Lumberjack v2 over TCP or TLS on one port (default 5515). */
export const windowsEventsAdapter = defineAdapter({
  type: 'windows_events',
  schema: windowsEventsOptionsSchema,
  create: (id, options, context) => new WindowsEventsSource(id, options, context),
});

/** Every adapter type of this package, for the runtime's list. */
export const windowsAdapters = [windowsEventsAdapter] as const;
