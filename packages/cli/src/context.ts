import { resolve } from 'node:path';
import { loadSettings, redactUrl, type Settings } from '@tessera/config';
import type { RevokeReason } from '@tessera/core';
import { PasswordHasher } from '@tessera/passwords';
import {
  ClientRepository,
  connectRedis,
  type KeyLayout,
  keyLayout,
  LoginGate,
  type TesseraRedis,
  TokenRepository,
  UserRepository,
} from '@tessera/store';

/** Where `npm start` runs its embedded Redis (TESSERA_EMBEDDED_REDIS_PORT); the CLI's default Redis. */
export const EMBEDDED_REDIS_PORT = 6390;

export function embeddedRedisPort(env: NodeJS.ProcessEnv): number {
  const raw = env.TESSERA_EMBEDDED_REDIS_PORT;
  if (raw === undefined || raw === '') return EMBEDDED_REDIS_PORT;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new CliError(`TESSERA_EMBEDDED_REDIS_PORT=${JSON.stringify(raw)}: expected a port number`, 2);
  return port;
}

export function embeddedRedisUrl(env: NodeJS.ProcessEnv): string {
  return `redis://127.0.0.1:${embeddedRedisPort(env)}`;
}

/** Where `npm start` keeps this checkout's state (Redis data, generated secrets): TESSERA_STATE_DIR, else `.tessera`. */
export function stateDirOf(env: NodeJS.ProcessEnv): string {
  return resolve(env.TESSERA_STATE_DIR ?? '.tessera');
}

/** The file under the state folder holding the KEK `npm start` generated. */
export const KEK_FILE = 'kek';

/** A failure to report as one line and a non-zero exit. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** A command group given no verb, or one it does not know: one line, exit code 2. */
export function unknownVerb(group: string, verb: string | undefined, usage: string): CliError {
  return new CliError(
    verb === undefined ? `missing command: ${group} ${usage}` : `unknown command: ${group} ${verb} (tessera --help lists the commands)`,
    2,
  );
}

export interface CliContext {
  readonly settings: Settings;
  readonly redis: TesseraRedis;
  readonly keys: KeyLayout;
  readonly users: UserRepository;
  readonly tokens: TokenRepository;
  readonly clients: ClientRepository;
  readonly gate: LoginGate;
  readonly hasher: PasswordHasher;
  close(): Promise<void>;
}

/** The settings of the command line: no JWT key needed, the embedded Redis when REDIS_URL is unset. */
export function cliSettings(env: NodeJS.ProcessEnv): Settings {
  return loadSettings({ REDIS_URL: embeddedRedisUrl(env), ...env }, { role: 'cli' });
}

export async function openContext(env: NodeJS.ProcessEnv): Promise<CliContext> {
  const settings = cliSettings(env);
  let redis: TesseraRedis;
  try {
    redis = await connectRedis({ url: settings.redisUrl, commandTimeoutMs: 5000, connectionName: 'tessera-cli' });
  } catch {
    throw new CliError(`cannot reach Redis at ${redactUrl(settings.redisUrl)} (start the stack with npm start, or set REDIS_URL)`);
  }
  const keys = keyLayout(settings.redisPrefix, settings.accountShards);
  return {
    settings,
    redis,
    keys,
    // one id at a time: an import keeps the ids of a file's rows dense around the ids it keeps
    users: new UserRepository(redis, keys, 1),
    tokens: new TokenRepository(redis, keys, settings.tokenLimits),
    clients: new ClientRepository(redis, keys),
    gate: new LoginGate(redis, keys, settings.lockout),
    hasher: new PasswordHasher(settings.argon2),
    close: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/** Revokes every token of a user (a password changed, a user disabled, a compromise), with its token.revoked event. */
export function revokeUserTokens(c: CliContext, userId: number, reason: RevokeReason): Promise<number> {
  return c.tokens.revokeUser(userId, reason, 'cli');
}

/** An error class whose message is meant for the operator as it is. */
type Told = abstract new (...args: never[]) => Error;

/**
 * Opens a context, runs `work` with it and closes it whatever happens. Errors of the `told` kinds
 * end the command with their message (exit 1); any other is a bug and goes up as it is.
 */
export async function withContext<T>(
  open: () => Promise<CliContext>,
  work: (c: CliContext) => Promise<T>,
  told: readonly Told[] = [],
): Promise<T> {
  const c = await open();
  try {
    return await work(c);
  } catch (err) {
    if (told.some((kind) => err instanceof kind)) throw new CliError((err as Error).message);
    throw err;
  } finally {
    await c.close();
  }
}
