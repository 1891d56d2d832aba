import { ConfigError } from '@tessera/config';
import { AUDIT_HELP, auditCommand } from './commands/audit.ts';
import { CLIENTS_HELP, clientsCommand } from './commands/clients.ts';
import { IMPORT_HELP, importCommand } from './commands/import.ts';
import { KEYS_HELP, keysCommand } from './commands/keys.ts';
import { LOCKOUTS_HELP, lockoutsCommand } from './commands/lockouts.ts';
import { MIGRATE_HELP, migrateKeysCommand } from './commands/migrate.ts';
import { TOKENS_HELP, tokensCommand } from './commands/tokens.ts';
import { upCommand } from './commands/up.ts';
import { USERS_HELP, usersCommand } from './commands/users.ts';
import { CliError, openContext } from './context.ts';

const HELP = `tessera — token service command line

tessera up                      start Redis (embedded when REDIS_URL is unset), ingress and worker
${USERS_HELP}
${IMPORT_HELP}
${CLIENTS_HELP}
${TOKENS_HELP}
${KEYS_HELP}
${LOCKOUTS_HELP}
${AUDIT_HELP}
${MIGRATE_HELP}

Environment: REDIS_URL (default: the embedded Redis of npm start), TESSERA_REDIS_PREFIX.`;

async function run(argv: string[]): Promise<number> {
  const [group, ...rest] = argv;
  const out = (line: string) => process.stdout.write(`${line}\n`);
  switch (group) {
    case 'users':
      if (rest[0] === 'import') {
        const summary = await importCommand(rest.slice(1), () => openContext(process.env), {
          stdin: process.stdin,
          stdout: process.stdout,
          stderr: process.stderr,
        });
        return summary.failed > 0 ? 1 : 0;
      }
      await usersCommand(rest, () => openContext(process.env), { stdin: process.stdin, out });
      return 0;
    case 'clients':
      await clientsCommand(rest, () => openContext(process.env), { stdin: process.stdin, out });
      return 0;
    case 'tokens':
      await tokensCommand(rest, () => openContext(process.env), { stdin: process.stdin, out });
      return 0;
    case 'keys':
      await keysCommand(rest, () => openContext(process.env), { stdin: process.stdin, out }, process.env);
      return 0;
    case 'lockouts':
      await lockoutsCommand(rest, () => openContext(process.env), { stdin: process.stdin, out });
      return 0;
    case 'migrate-keys':
      await migrateKeysCommand(rest, () => openContext(process.env), { stdin: process.stdin, out });
      return 0;
    case 'audit': {
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      process.once('SIGTERM', () => stop.abort());
      const warn = (line: string) => process.stderr.write(`tessera: ${line}\n`);
      await auditCommand(rest, () => openContext(process.env), { stdin: process.stdin, out, warn }, stop.signal);
      return 0;
    }
    case 'up':
      return upCommand((line) => process.stderr.write(`tessera: ${line}\n`));
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      out(HELP);
      return group === undefined ? 2 : 0;
    default:
      throw new CliError(`unknown command ${JSON.stringify(group)} (tessera --help lists them)`, 2);
  }
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof CliError) {
      process.stderr.write(`tessera: ${err.message}\n`);
      process.exit(err.exitCode);
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`tessera: ${err.problems.join('; ')}\n`);
      process.exit(2);
    }
    process.stderr.write(`tessera: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
