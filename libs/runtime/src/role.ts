import type { AdapterControl, ApiServer } from '@siem/api';
import type { Logger } from '@siem/observability';
import type { RootConfig } from './config-schema.js';
import type { Lifecycle } from './lifecycle.js';

/** What a started role shows of itself (the start-up banner, tests); null parts it does not run. */
export interface RoleView {
  adapters: AdapterControl | null;
  api: ApiServer | null;
  /** The database the events go to; `embedded` when the process started it itself. */
  database: { url: string; embedded: boolean } | null;
}

/**
 * The one shape of a role (gateway, normalizer, all): starts its components, registers each one's
 * shutdown on `lifecycle` (even when start-up fails half-way), and resolves once it takes traffic.
 */
export type RoleStarter = (config: RootConfig, logger: Logger, lifecycle: Lifecycle) => Promise<RoleView>;
