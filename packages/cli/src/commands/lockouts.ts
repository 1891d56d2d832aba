import { parseArgs } from 'node:util';
import { lockReleasedEvent } from '@tessera/events';
import { type CliContext, CliError, unknownVerb, withContext } from '../context.ts';
import type { Io } from './users.ts';

export const LOCKOUTS_HELP = `tessera lockouts list                     locks holding now: lock, until, the account's username
tessera lockouts clear <identifier>       admin unlock (a username, an email in any case, or a lock as listed)`;

export async function lockoutsCommand(argv: string[], ctx: () => Promise<CliContext>, io: Io): Promise<void> {
  const [verb, ...rest] = argv;
  let positionals: string[];
  try {
    positionals = parseArgs({ args: rest, options: {}, allowPositionals: true, strict: true }).positionals;
  } catch (err) {
    throw new CliError((err as Error).message, 2);
  }
  switch (verb) {
    case 'list': {
      for (const l of await withContext(ctx, (c) => c.gate.locked())) {
        const until = Number.isFinite(l.until) ? new Date(l.until).toISOString() : 'permanent';
        io.out([l.identifier, until, ...(l.username === undefined ? [] : [l.username])].join('\t'));
      }
      return;
    }
    case 'clear': {
      const [identifier] = positionals;
      if (identifier === undefined || positionals.length !== 1) throw new CliError('lockouts clear takes one <identifier>', 2);
      const cleared = await withContext(ctx, (c) => c.gate.clear(identifier, (lock) => lockReleasedEvent('cli', lock)));
      if (cleared === null) throw new CliError(`${identifier} has no failures or lock to clear`);
      io.out(`cleared ${cleared}`);
      return;
    }
    default:
      throw unknownVerb('lockouts', verb, 'list|clear');
  }
}
