import { startAll } from '@siem/all';
import { startGateway } from '@siem/gateway';
import { startNormalizer } from '@siem/normalizer';
import type { RoleStarter } from '@siem/runtime';

export type { RoleView } from '@siem/runtime';

/** The roles `siem serve --role` runs; each is an app package with the same shape (RoleStarter). */
const starters = {
  gateway: startGateway,
  normalizer: startNormalizer,
  all: startAll,
} as const satisfies Record<string, RoleStarter>;

export type Role = keyof typeof starters;
export const roles = Object.keys(starters) as Role[];

/** Starts a role; every component it starts registers its shutdown on `lifecycle`, even on failure. */
export const startRole = (role: Role, ...args: Parameters<RoleStarter>) => starters[role](...args);
