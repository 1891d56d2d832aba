import { parseArgs } from 'node:util';
import type { RevokeReason, UserRecord } from '@tessera/core';
import { newEvent } from '@tessera/events';
import { passwordScheme } from '@tessera/passwords';
import { EmailTakenError, UnknownUserError, UserExistsError } from '@tessera/store';
import { type CliContext, CliError, revokeUserTokens, unknownVerb, withContext } from '../context.ts';

export const USERS_HELP = `tessera users add <username> --password-stdin [--email E] [--pers-code P] [--civil-id C]
                    [--mobile M] [--scope S ...] [--disabled]
tessera users show <username> [--json]
tessera users disable <username> [--enable]
tessera users passwd <username> --password-stdin`;

/** Reads the password from standard input: the first line, without its line ending. */
export async function readPasswordFromStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  const text = Buffer.concat(chunks).toString('utf8');
  const line = text.split(/\r?\n/)[0] ?? '';
  if (line === '') throw new CliError('no password on standard input (use: printf %s "$PASSWORD" | tessera users ... --password-stdin)');
  return line;
}

/** A last login as `users show` prints it: ISO 8601, UTC. */
const isoTime = (ms: number) => new Date(ms).toISOString();

/** What `users show --json` prints: the record without its hash, with the hash's scheme; the last login in ISO 8601. */
export function publicView(u: UserRecord): Record<string, unknown> {
  const { passwordHash, lastLogin, ...rest } = u;
  return { ...rest, ...(lastLogin === undefined ? {} : { lastLogin: isoTime(lastLogin) }), passwordScheme: passwordScheme(passwordHash) };
}

/** What `users show` prints for a person: one field a line. */
export function describeUser(u: UserRecord): string[] {
  const v = publicView(u) as Record<string, unknown> & { profile: Record<string, unknown> };
  const text = (x: unknown) => (typeof x === 'string' ? x : JSON.stringify(x));
  const lines = [
    `${u.username} (id ${u.id})`,
    `  email           ${u.email ?? '-'}`,
    `  scopes          ${u.scopes.map((s) => JSON.stringify(s)).join(' ')}`,
    `  disabled        ${u.disabled ? 'yes' : 'no'}`,
    `  password        ${v.passwordScheme}${u.pendingUpstream ? ' (pending: the first login is checked by the upstream)' : ''}`,
    `  last login      ${u.lastLogin === undefined ? '-' : isoTime(u.lastLogin)}`,
  ];
  for (const [k, x] of Object.entries(v.profile))
    if (x !== null && !(Array.isArray(x) && x.length === 0)) lines.push(`  ${k.padEnd(15)} ${text(x)}`);
  return lines;
}

/** Revokes every token of a user (after a password change, a disable, a compromise). */
export async function revokeAll(c: CliContext, username: string, reason: RevokeReason): Promise<number> {
  const user = await c.users.get(username);
  if (user === null) throw new CliError(`no user ${username}`);
  return revokeUserTokens(c, user.id, reason);
}

/** The event of a change an admin made to a user; scripts that commit it with the change fill in userId. */
export function userChangedEvent(username: string, outcome?: string, userId?: number): string {
  return JSON.stringify(newEvent('user.changed', { dialect: 'cli', identifier: `u:${username}`, outcome, userId }));
}

/** Records a change to a user made outside a script (disabled, enabled). */
async function userChanged(c: CliContext, username: string, outcome: string): Promise<void> {
  const user = await c.users.get(username);
  await c.gate.appendEvent(userChangedEvent(username, outcome, user?.id), { by: 'username', value: username });
}

export interface Io {
  readonly stdin: NodeJS.ReadableStream;
  out(line: string): void;
}

function one(positionals: string[], what: string): string {
  const [name, ...extra] = positionals;
  if (name === undefined || name === '') throw new CliError(`missing <${what}> (tessera --help shows the usage)`, 2);
  if (extra.length > 0) throw new CliError(`unexpected argument ${JSON.stringify(extra[0])}`, 2);
  return name;
}

export async function usersCommand(argv: string[], ctx: () => Promise<CliContext>, io: Io): Promise<void> {
  const [verb, ...rest] = argv;
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true; args: string[] }>>;
  try {
    parsed = parseArgs({ args: joinStringOptions(rest), options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CliError((err as Error).message, 2);
  }
  const { values: v, positionals } = parsed;
  switch (verb) {
    case 'add': {
      const username = one(positionals, 'username');
      if (v['password-stdin'] !== true) throw new CliError('users add needs --password-stdin (passwords never go on the command line)', 2);
      const password = await readPasswordFromStdin(io.stdin);
      const profile = { persCode: v['pers-code'] ?? null, civilId: v['civil-id'] ?? null, userMobile: v.mobile ?? null };
      const user = await withContext(
        ctx,
        async (c) =>
          c.users.create(
            {
              username,
              email: v.email ?? null,
              passwordHash: await c.hasher.hash(password),
              ...(v.scope === undefined ? {} : { scopes: v.scope }),
              disabled: v.disabled === true,
              profile,
            },
            userChangedEvent(username),
          ),
        [UserExistsError, EmailTakenError, TypeError],
      );
      io.out(`created user ${user.username} (id ${user.id})`);
      return;
    }
    case 'show': {
      const username = one(positionals, 'username');
      const user = await withContext(ctx, (c) => c.users.get(username));
      if (user === null) throw new CliError(`no user ${username}`);
      if (v.json === true) io.out(JSON.stringify(publicView(user)));
      else for (const line of describeUser(user)) io.out(line);
      return;
    }
    case 'disable': {
      const username = one(positionals, 'username');
      const enable = v.enable === true;
      const revoked = await withContext(
        ctx,
        async (c) => {
          await c.users.setDisabled(username, !enable);
          await userChanged(c, username, enable ? 'enabled' : 'disabled');
          return enable ? 0 : revokeAll(c, username, 'user_disabled');
        },
        [UnknownUserError],
      );
      io.out(enable ? `enabled user ${username}` : `disabled user ${username}; revoked ${revoked} live tokens`);
      return;
    }
    case 'passwd': {
      const username = one(positionals, 'username');
      if (v['password-stdin'] !== true) throw new CliError('users passwd needs --password-stdin', 2);
      const password = await readPasswordFromStdin(io.stdin);
      const revoked = await withContext(
        ctx,
        async (c) => {
          await c.users.setPasswordHash(username, await c.hasher.hash(password), { event: userChangedEvent(username, 'password_changed') });
          return revokeAll(c, username, 'password_changed');
        },
        [UnknownUserError],
      );
      io.out(`changed password of ${username}; revoked ${revoked} live tokens`);
      return;
    }
    default:
      throw unknownVerb('users', verb, 'add|show|disable|passwd|import (tessera --help shows the usage)');
  }
}

/**
 * Joins `--opt value` into `--opt=value` for string options, so values that start with `-`
 * (document 000's persCode is "-90008") are taken as values, not refused as ambiguous.
 */
export function joinStringOptions(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const next = args[i + 1];
    const def = arg.startsWith('--') && !arg.includes('=') ? OPTIONS[arg.slice(2) as keyof typeof OPTIONS] : undefined;
    if (def?.type === 'string' && next !== undefined) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

const OPTIONS = {
  'password-stdin': { type: 'boolean' },
  email: { type: 'string' },
  'pers-code': { type: 'string' },
  'civil-id': { type: 'string' },
  mobile: { type: 'string' },
  scope: { type: 'string', multiple: true },
  disabled: { type: 'boolean' },
  enable: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;
