import { Kind, Type, type Static, type TUnsafe } from '@sinclair/typebox';
import { invalid } from './errors.js';

/** Roles in rising order: each holds the ones before it (admin holds every role). */
export const TOKEN_ROLES = ['viewer', 'editor', 'approver', 'admin'] as const;
export type TokenRole = (typeof TOKEN_ROLES)[number];

/** What every token string starts with, so secret scanners and people can tell one at a glance (decision 0013). */
export const TOKEN_PREFIX = 'hf_';
/** Base62 characters after the prefix: 40 × log2(62) ≈ 238 bits of randomness. */
export const TOKEN_SECRET_LENGTH = 40;

const TOKEN_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** The unauthenticated loopback user's name: a token named so would blur the audit trail. */
const RESERVED_NAMES = new Set(['local']);

/** Checks a token name (it becomes the actor name on every audit event the token makes). */
export function validateTokenName(name: string): string {
  if (!TOKEN_NAME.test(name) || RESERVED_NAMES.has(name)) {
    throw invalid(
      `token name ${JSON.stringify(name)} is not allowed: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit (and not 'local')`,
      { field: 'name' },
    );
  }
  return name;
}

/** Whether `text` has the shape of a token (prefix and 40 base62 characters); says nothing of whether it exists. */
export function looksLikeToken(text: string): boolean {
  return text.length === TOKEN_PREFIX.length + TOKEN_SECRET_LENGTH && /^hf_[0-9A-Za-z]{40}$/.test(text);
}

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `30d`, `12h`, `90m` → milliseconds; anything else is refused, naming `field`. */
export function parseExpiresIn(text: string, field = 'expires_in'): number {
  const m = /^([1-9]\d{0,5})([mhd])$/.exec(text);
  if (!m) throw invalid(`${field} ${JSON.stringify(text)} is not a duration: use a whole number and m, h or d (e.g. 90m, 12h, 30d)`, { field });
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

function StringEnum<const T extends readonly string[]>(values: T): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ [Kind]: 'String', type: 'string', enum: [...values] });
}

const Time = Type.String({ format: 'date-time' });
const NullableTime = Type.Union([Time, Type.Null()]);
const Models = Type.Union([Type.Array(Type.String()), Type.Null()]);

export const TokenRoleSchema = StringEnum(TOKEN_ROLES);

export const CreateTokenBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64 }),
    role: TokenRoleSchema,
    /** Model-name patterns (`chatbot*`); absent: every model. */
    models: Type.Optional(Type.Array(Type.String(), { minItems: 1, maxItems: 64 })),
    expires_in: Type.Optional(Type.String()),
    expires_at: Type.Optional(Time),
  },
  { additionalProperties: false },
);
export type CreateTokenBody = Static<typeof CreateTokenBody>;

/** A token as listed: never its secret. */
export const TokenSchema = Type.Object({
  name: Type.String(),
  role: TokenRoleSchema,
  models: Models,
  expires_at: NullableTime,
  created_by: Type.String(),
  created_at: Time,
  revoked_at: NullableTime,
  revoked_by: Type.Union([Type.String(), Type.Null()]),
});
export type Token = Static<typeof TokenSchema>;

/** The answer to a create: the only time the secret is shown. */
export const CreatedTokenSchema = Type.Object({
  name: Type.String(),
  token: Type.String(),
  role: TokenRoleSchema,
  models: Models,
  expires_at: NullableTime,
  created_by: Type.String(),
  created_at: Time,
});
export type CreatedToken = Static<typeof CreatedTokenSchema>;

export const WhoAmISchema = Type.Object({
  name: Type.String(),
  roles: Type.Array(TokenRoleSchema),
  models: Models,
  via: Type.String(),
  authenticated: Type.Boolean(),
});
export type WhoAmI = Static<typeof WhoAmISchema>;
