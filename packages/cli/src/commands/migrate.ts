import { type MigrationCounts, migrateKeys } from '@tessera/store';
import { type CliContext, CliError, withContext } from '../context.ts';
import type { Io } from './users.ts';

export const MIGRATE_HELP = `tessera migrate-keys                      move users, locks and events of the one-slot layout ({users}) to the account shards (resumable; services stopped)`;

function line(phase: string, c: Readonly<MigrationCounts>): string {
  return `${phase}: ${c.users} users, ${c.entries} loose index entries, ${c.locks} locks, ${c.events} events moved; ${c.dropped} short-lived keys dropped`;
}

/** `tessera migrate-keys`: migrateKeys with its progress on stdout. */
export async function migrateKeysCommand(argv: string[], ctx: () => Promise<CliContext>, io: Io): Promise<void> {
  if (argv.length > 0) throw new CliError('migrate-keys takes no arguments', 2);
  const counts = await withContext(ctx, (c) => migrateKeys(c.redis, c.keys, { progress: (phase, n) => io.out(line(phase, n)) }));
  io.out(
    counts.users + counts.entries + counts.locks + counts.events === 0
      ? 'nothing to move: the key layout is current'
      : 'the key layout is current',
  );
}
