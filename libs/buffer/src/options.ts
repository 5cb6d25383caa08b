import { Section, type Static, Type } from '@siem/config';

export const bufferOptionsSchema = Section(
  {
    max_events: Type.Integer({
      minimum: 1,
      default: 1_000_000,
      description: 'Memory ring capacity in events.',
    }),
  },
  { description: 'Ring buffer between the adapters and the producer, with zstd disk spillover.' },
);

export type BufferOptions = Static<typeof bufferOptionsSchema>;
