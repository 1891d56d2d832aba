import { parseArgs } from 'node:util';
import { newEvent } from '@tessera/events';
import { identifierKey } from '@tessera/store';
import { type CliContext, CliError, unknownVerb } from '../context.ts';
import type { Io } from './users.ts';

export const LOCKOUTS_HELP = `tessera lockouts list
tessera lockouts clear <identifier>       admin unlock (a username, or an email in any case)`;

/** `u:<username>` or `e:<email>` as given, or the key of a plain identifier. */
function keyOf(identifier: string): string {
  if (/^[ue]:/.test(identifier)) return identifier;
  return identifierKey(identifier.includes('@') ? { by: 'email', value: identifier } : { by: 'username', value: identifier });
}

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
      const c = await ctx();
      try {
        for (const l of await c.gate.locked())
          io.out(`${l.identifier}\t${Number.isFinite(l.until) ? new Date(l.until).toISOString() : 'permanent'}`);
      } finally {
        await c.close();
      }
      return;
    }
    case 'clear': {
      const [identifier] = positionals;
      if (identifier === undefined || positionals.length !== 1) throw new CliError('lockouts clear takes one <identifier>', 2);
      const key = keyOf(identifier);
      const c = await ctx();
      try {
        const event = JSON.stringify(
          newEvent('lockout.released', { dialect: 'cli', identifier: key, reason: 'admin', outcome: 'released' }),
        );
        if (!(await c.gate.clear(key, event))) throw new CliError(`${identifier} has no failures or lock to clear`);
        io.out(`cleared ${key}`);
      } finally {
        await c.close();
      }
      return;
    }
    default:
      throw unknownVerb('lockouts', verb, 'list|clear');
  }
}
