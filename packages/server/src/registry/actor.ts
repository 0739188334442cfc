import { BerthError, anyPatternMatches } from '@berth/core';

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
  /**
   * Model-name patterns the roles hold for (a scoped token); undefined: every model. Outside
   * its patterns an actor can only read (viewer).
   */
  scopes?: readonly string[];
}

export function localActor(name = 'local', via = 'api'): Actor {
  return { name, roles: ALL_ROLES, via };
}

/** Whether the actor holds `role` (or admin), for `model` when given (scopes apply). */
export function hasRole(actor: Actor, role: Role, model?: string): boolean {
  if (role === 'viewer') return true;
  if (!actor.roles.has(role) && !actor.roles.has('admin')) return false;
  if (model !== undefined && actor.scopes !== undefined) return anyPatternMatches(actor.scopes, model);
  return true;
}

/**
 * Refuses with PERMISSION_DENIED unless the actor holds `role` (admin holds every role). With
 * `model`, a scoped actor must also have the model inside its patterns.
 */
export function requireRole(actor: Actor, role: Role, what: string, model?: string): void {
  if (hasRole(actor, role, model)) return;
  if (model !== undefined && actor.scopes !== undefined && (actor.roles.has(role) || actor.roles.has('admin'))) {
    throw new BerthError(
      'PERMISSION_DENIED',
      `${what} on model ${JSON.stringify(model)} is outside the models ${actor.name} may change (${actor.scopes.join(', ')})`,
      {
        role,
        model,
      },
    );
  }
  throw new BerthError('PERMISSION_DENIED', `${what} needs the ${role} role; ${actor.name} does not have it`, { role });
}

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
