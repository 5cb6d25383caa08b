import { apiKeyCommand } from './api-key.js';
import { bufferCommand } from './buffer.js';
import type { Command } from './command.js';
import { configExampleCommand } from './config-example.js';
import { consumeCommand } from './consume.js';
import { emitSampleCommand } from './emit-sample.js';
import { kafkaTopicsCommand } from './kafka-topics.js';
import { migrateCommand } from './migrate.js';
import { parseCommand } from './parse.js';
import { pokeCommand } from './poke.js';
import { serveCommand } from './serve.js';
import { sizingCommand } from './sizing.js';
import { tailCommand } from './tail.js';
import { tiersCommand } from './tiers.js';
import { topCommand } from './top.js';
import { validateCommand } from './validate.js';

export type { Command } from './command.js';

/** Every `siem` subcommand; a new one is one import and one entry here. */
export const commands: readonly Command[] = [
  serveCommand,
  validateCommand,
  configExampleCommand,
  kafkaTopicsCommand,
  parseCommand,
  migrateCommand,
  tiersCommand,
  bufferCommand,
  apiKeyCommand,
  emitSampleCommand,
  pokeCommand,
  consumeCommand,
  tailCommand,
  topCommand,
  sizingCommand,
];
