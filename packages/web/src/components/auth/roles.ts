import { anyPatternMatches, TOKEN_ROLES, type TokenRole, type WhoAmI } from '@berth/core';

/** The highest role a caller holds (roles are cumulative: an approver is an editor and a viewer too). */
export function topRole(me: Pick<WhoAmI, 'roles'>): TokenRole {
  let top: TokenRole = 'viewer';
  for (const r of TOKEN_ROLES) if (me.roles.includes(r)) top = r;
  return top;
}

/**
 * Whether the caller may do what needs `role` on `model`: the server's rule (registry/actor.ts
 * hasRole), repeated here only to decide which buttons to offer — the server still decides.
 */
export function may(me: Pick<WhoAmI, 'roles' | 'models'>, role: TokenRole, model?: string): boolean {
  if (role === 'viewer') return true;
  if (!me.roles.includes(role) && !me.roles.includes('admin')) return false;
  if (model !== undefined && me.models !== null) return anyPatternMatches(me.models, model);
  return true;
}

/** Why a button is not offered, in words a user can act on. */
export function whyNot(me: Pick<WhoAmI, 'name' | 'roles' | 'models'>, role: TokenRole, what: string, model?: string): string | null {
  if (may(me, role, model)) return null;
  if (me.roles.includes(role) || me.roles.includes('admin'))
    return `${what} on ${model} is outside the models ${me.name} may change (${(me.models ?? []).join(', ')}).`;
  return `${what} needs the ${role} role; ${me.name} is a ${topRole(me)}. Sign in with an ${role} token to do it.`;
}
