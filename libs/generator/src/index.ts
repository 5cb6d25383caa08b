export { diurnalFactor, EventClock, type EventClockOptions, TimeText } from './clock.js';
export {
  type EmitOptions,
  type EmitProgress,
  type EmitSummary,
  emitSample,
  generatorFor,
  type KindSummary,
} from './emit.js';
export { EventGenerator, type GeneratedEvent, type GeneratorOptions } from './generator.js';
export { allKinds, kindsOf, selectKinds } from './kinds/catalog.js';
export type { Channel, CloudType, Kind, KindContext } from './kinds/kind.js';
export { buildPopulation, type Population } from './population.js';
export { Prng } from './prng.js';
export { type Protocol, type ProtocolInfo, protocolInfo, protocols } from './protocols.js';
export { RateGate } from './rate.js';
export { CloudBatches } from './senders/cloud-batches.js';
export { jsonFrames } from './senders/lumberjack-sender.js';
export { type ClientTls, encodeFrames, type Framing, type Sender, type Target } from './senders/sender.js';
export { Tally } from './tally.js';
