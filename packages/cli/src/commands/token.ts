import { TOKEN_ROLES, type TokenRole } from '@berth/core';
import { parse } from '../args.js';
import type { Context } from '../context.js';
import { UsageError } from '../io.js';
import { table, when } from '../output/format.js';

const USAGE = `usage: berth token create <name> --role viewer|editor|approver|admin [--models PATTERN]… [--expires 30d|12h|90m|ISO-TIME]
       berth token ls
       berth token revoke <name> [--reason R]
Tokens are for admins to hand out. create prints the token on stdout, once: store it then
(it is kept only hashed). --models limits the role to matching models (e.g. 'chatbot*'); a
scoped token is a viewer elsewhere. A revoked token stays listed, for the audit trail.`;

const WHOAMI_USAGE = `usage: berth whoami
Shows who the server takes you for: the token's name, roles and models (--token / BERTH_TOKEN),
or the local user when no token is sent.`;

export async function run(argv: string[], ctx: Context): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { role: { type: 'string' }, models: { type: 'string', multiple: true }, expires: { type: 'string' }, reason: { type: 'string' } },
    USAGE,
  );
  if (values.help) return (ctx.print(USAGE), 0);
  const [sub, name] = positionals;
  const need = (n: number) => {
    if (positionals.length !== n) throw new UsageError(`token ${sub} takes ${n - 1} argument(s)`, USAGE);
  };
  const client = ctx.client();
  switch (sub) {
    case 'create': {
      need(2);
      const role = values.role as string | undefined;
      if (!role) throw new UsageError('token create needs --role (viewer, editor, approver or admin)', USAGE);
      if (!(TOKEN_ROLES as readonly string[]).includes(role))
        throw new UsageError(`--role ${JSON.stringify(role)} is not one of ${TOKEN_ROLES.join(', ')}`, USAGE);
      const expires = values.expires as string | undefined;
      const expiry = expires === undefined ? {} : /^\d+[mhd]$/.test(expires) ? { expires_in: expires } : { expires_at: expires };
      const models = values.models as string[] | undefined;
      const t = await client.createToken({ name: name as string, role: role as TokenRole, ...(models ? { models } : {}), ...expiry });
      if (ctx.json) return (ctx.printJson(t), 0);
      // The token alone on stdout (TOKEN=$(berth token create …) captures it); the rest on stderr.
      ctx.print(t.token);
      ctx.io.stderr.write(
        `created token ${t.name}: ${t.role}${t.models ? ` on ${t.models.join(', ')}` : ''}, ${t.expires_at ? `expires ${t.expires_at}` : 'never expires'}\n` +
          'store it now: it is shown only this once (the server keeps only its hash)\n',
      );
      return 0;
    }
    case 'ls': {
      need(1);
      const items = await client.listTokens();
      if (ctx.json) return (ctx.printJson({ items }), 0);
      if (items.length === 0) return (ctx.print('no tokens: create one with `berth token create <name> --role <role>`'), 0);
      ctx.print(
        table(
          ['NAME', 'ROLE', 'MODELS', 'EXPIRES', 'CREATED BY', 'CREATED', 'REVOKED'],
          items.map((t) => [
            t.name,
            t.role,
            t.models?.join(',') ?? '*',
            t.expires_at ? when(t.expires_at) : 'never',
            t.created_by,
            when(t.created_at),
            when(t.revoked_at),
          ]),
        ),
      );
      return 0;
    }
    case 'revoke': {
      need(2);
      const t = await client.revokeToken(name as string, values.reason as string | undefined);
      if (ctx.json) return (ctx.printJson(t), 0);
      ctx.print(`revoked token ${t.name} (at ${t.revoked_at}); requests with it now get 401`);
      return 0;
    }
    default:
      throw new UsageError(sub ? `unknown token command ${JSON.stringify(sub)}` : 'token needs a command: create, ls or revoke', USAGE);
  }
}

export async function whoami(argv: string[], ctx: Context): Promise<number> {
  const { values, positionals } = parse(argv, {}, WHOAMI_USAGE);
  if (values.help) return (ctx.print(WHOAMI_USAGE), 0);
  if (positionals.length) throw new UsageError('whoami takes no arguments', WHOAMI_USAGE);
  const me = await ctx.client().whoami();
  if (ctx.json) return (ctx.printJson(me), 0);
  const how = me.authenticated ? 'token' : 'local user (no token sent)';
  ctx.print(`${me.name}: ${how}; roles ${me.roles.join(', ')}${me.models ? `; models ${me.models.join(', ')}` : ''}`);
  return 0;
}
