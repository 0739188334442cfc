import { BerthError } from '@berth/core';

export type Role = 'viewer' | 'editor' | 'approver' | 'admin';
export const ALL_ROLES: ReadonlySet<Role> = new Set<Role>(['viewer', 'editor', 'approver', 'admin']);

/**
 * Who asks, carried on every service call. `via` names the front the call came through
 * (`api`, `mlflow`, `hub`, …) so a change made without a reason still records how it was made.
 */
export interface Actor {
  name: string;
  roles: ReadonlySet<Role>;
  via: string;
}

export function localActor(name = 'local', via = 'api'): Actor {
  return { name, roles: ALL_ROLES, via };
}

export function requireRole(actor: Actor, role: Role, what: string): void {
  if (!actor.roles.has(role) && !actor.roles.has('admin')) {
    throw new BerthError('PERMISSION_DENIED', `${what} needs the ${role} role; ${actor.name} does not have it`, { role });
  }
}

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
