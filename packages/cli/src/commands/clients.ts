import { parseArgs } from 'node:util';
import { ClientExistsError } from '@tessera/store';
import { type CliContext, CliError, unknownVerb, withContext } from '../context.ts';
import { type Io, readPasswordFromStdin } from './users.ts';

export const CLIENTS_HELP = `tessera clients add <id> [--secret-stdin]   register a caller of /oauth/introspect and /oauth/revoke
tessera clients list
tessera clients remove <id>`;

/** `tessera clients ...`: manages the services allowed to introspect and revoke tokens. */
export async function clientsCommand(argv: string[], ctx: () => Promise<CliContext>, io: Io): Promise<void> {
  const [verb, ...rest] = argv;
  let parsed: { values: { 'secret-stdin'?: boolean }; positionals: string[] };
  try {
    parsed = parseArgs({ args: rest, options: { 'secret-stdin': { type: 'boolean' } }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CliError((err as Error).message, 2);
  }
  const id = parsed.positionals[0];
  if (verb !== 'list' && verb !== undefined && (id === undefined || parsed.positionals.length > 1))
    throw new CliError(`clients ${verb} takes one <id>`, 2);
  switch (verb) {
    case 'add': {
      const given = parsed.values['secret-stdin'] === true ? await readPasswordFromStdin(io.stdin) : undefined;
      const secret = await withContext(ctx, (c) => c.clients.add(id as string, given), [ClientExistsError, TypeError]);
      io.out(`created client ${id}`);
      // shown once: only its hash is stored
      if (given === undefined) io.out(`secret: ${secret}`);
      return;
    }
    case 'list': {
      for (const client of await withContext(ctx, (c) => c.clients.list())) io.out(`${client.id}\t${client.createdAt}`);
      return;
    }
    case 'remove': {
      if (!(await withContext(ctx, (c) => c.clients.remove(id as string)))) throw new CliError(`no client ${id}`);
      io.out(`removed client ${id}`);
      return;
    }
    default:
      throw unknownVerb('clients', verb, 'add|list|remove');
  }
}
