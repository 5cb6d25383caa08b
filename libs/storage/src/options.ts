import { Section, type Static, Type } from '@siem/config';

export const storageOptionsSchema = Section(
  {
    database_url: Type.Union([Type.String({ minLength: 1 }), Type.Null()], {
      default: null,
      description:
        'PostgreSQL/TimescaleDB connection URL. When null, the all role starts the embedded TimescaleDB engine ' +
        'under <data_dir>/timescaledb.',
    }),
    pool_size: Type.Integer({ minimum: 1, maximum: 200, default: 8, description: 'Database connections.' }),
  },
  { description: 'Where normalized events are stored.' },
);

export type StorageOptions = Static<typeof storageOptionsSchema>;
