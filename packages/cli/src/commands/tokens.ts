import { parseArgs } from 'node:util';
import { type CliContext, CliError, unknownVerb, withContext } from '../context.ts';
import { type Io, revokeAll } from './users.ts';

export const TOKENS_HELP = 'tessera tokens revoke --user <username>   revoke every token of a user at once';

/** `tessera tokens revoke --user U`. */
export async function tokensCommand(argv: string[], ctx: () => Promise<CliContext>, io: Io): Promise<void> {
  const [verb, ...rest] = argv;
  if (verb !== 'revoke') throw unknownVerb('tokens', verb, 'revoke');
  let user: string | undefined;
  try {
    user = parseArgs({ args: rest, options: { user: { type: 'string' } }, strict: true }).values.user;
  } catch (err) {
    throw new CliError((err as Error).message, 2);
  }
  if (user === undefined || user === '') throw new CliError('tokens revoke needs --user <username>', 2);
  const name = user;
  io.out(`revoked ${await withContext(ctx, (c) => revokeAll(c, name, 'admin'))} live tokens of ${user}`);
}
