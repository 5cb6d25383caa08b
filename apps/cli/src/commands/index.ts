import type { Command } from './command.js';

export type { Command } from './command.js';

/** A `siem` subcommand as the help lists it; its module is loaded only when it runs. */
export interface CommandEntry {
  readonly name: string;
  readonly summary: string;
  load(): Promise<Command>;
}

/**
 * Every `siem` subcommand; a new one is one entry here. Modules load lazily so that a command pays only
 * for what it imports: `siem parse` does not load Kafka, the database engine or the API server.
 */
export const commands: readonly CommandEntry[] = [
  {
    name: 'serve',
    summary: 'run the gateway, the normalizer, or both in one process (all)',
    load: async () => (await import('./serve.js')).serveCommand,
  },
  {
    name: 'validate',
    summary: 'check a configuration file (with SIEM_* overrides) without starting anything',
    load: async () => (await import('./validate.js')).validateCommand,
  },
  {
    name: 'config-example',
    summary: 'print an example configuration documenting every key',
    load: async () => (await import('./config-example.js')).configExampleCommand,
  },
  {
    name: 'kafka-topics',
    summary: 'list, create, or print as Strimzi KafkaTopic resources the topics of the configuration',
    load: async () => (await import('./kafka-topics.js')).kafkaTopicsCommand,
  },
  {
    name: 'parse',
    summary: 'parse syslog messages from stdin (one per line) into JSON lines',
    load: async () => (await import('./parse.js')).parseCommand,
  },
  {
    name: 'migrate',
    summary: 'apply the database migrations (idempotent; safe to run from several processes)',
    load: async () => (await import('./migrate.js')).migrateCommand,
  },
  {
    name: 'tiers',
    summary: 'run the storage tier job now, show each tier, or re-import an archive file',
    load: async () => (await import('./tiers.js')).tiersCommand,
  },
  {
    name: 'buffer',
    summary: 'inspect or purge the buffer spill directory',
    load: async () => (await import('./buffer.js')).bufferCommand,
  },
  {
    name: 'api-key',
    summary: 'create an API key: print the token once and the hashed entry for the configuration',
    load: async () => (await import('./api-key.js')).apiKeyCommand,
  },
  {
    name: 'emit-sample',
    summary: 'generate realistic security events and send them over syslog, Lumberjack or the cloud intake',
    load: async () => (await import('./emit-sample.js')).emitSampleCommand,
  },
  {
    name: 'poke',
    summary: 'check every component of a running gateway: API, adapters, buffer, Kafka, database, tier job',
    load: async () => (await import('./poke.js')).pokeCommand,
  },
  {
    name: 'consume',
    summary: 'read a Kafka topic and print its records decoded, one JSON line each',
    load: async () => (await import('./consume.js')).consumeCommand,
  },
  {
    name: 'tail',
    summary: 'follow stored events live over the WebSocket tail, with the events API filters',
    load: async () => (await import('./tail.js')).tailCommand,
  },
  {
    name: 'top',
    summary: 'a terminal dashboard of a running gateway: events/s per adapter and stage, buffer, drops',
    load: async () => (await import('./top.js')).topCommand,
  },
  {
    name: 'sizing',
    summary: 'pods, brokers, shards and disk for an event rate, from the measured figures',
    load: async () => (await import('./sizing.js')).sizingCommand,
  },
];
