import { Host, Port, Section, type Static, Type } from '@siem/config';

export const apiOptionsSchema = Section(
  {
    enabled: Type.Boolean({ default: true, description: 'Serve the control and query API.' }),
    host: Host('Address to listen on. Without API keys only loopback addresses are allowed.', '127.0.0.1'),
    port: Port('HTTP port of the API, health probes and metrics.', 8080),
  },
  { description: 'Control and query API (fastify).' },
);

export type ApiOptions = Static<typeof apiOptionsSchema>;
