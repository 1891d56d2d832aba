import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { JWT_ALGORITHMS, type JwtAlgorithm, KeyEncryptionKey, kekBytes } from '@tessera/core';
import { KeyStateError, SigningKeyRepository, type StoredSigningKey, signingKeyAt, UnknownKeyError } from '@tessera/store';
import { type CliContext, CliError, KEK_FILE, stateDirOf, unknownVerb, withContext } from '../context.ts';
import type { Io } from './users.ts';

export const KEYS_HELP = `tessera keys add [--algorithm A]          make a signing key (published now, signs once activated); prints its kid last
tessera keys list [--json]                the keys: kid, algorithm, state, times
tessera keys activate <kid>               it signs from now, or once it has been published TESSERA_JWKS_MAX_AGE_S
tessera keys retire <kid> [--at TIME]     its tokens verify until TIME (ISO 8601; default now)`;

/**
 * The key-encryption key: TESSERA_KEK, else the one `npm start` generated for this checkout. Never
 * made here: a key sealed under a KEK the services do not have would be lost.
 */
async function kekOf(env: NodeJS.ProcessEnv, settingsKek: string): Promise<KeyEncryptionKey> {
  const file = join(stateDirOf(env), KEK_FILE);
  const text = settingsKek !== '' ? settingsKek : existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
  const bytes = kekBytes(text);
  if (text === '') throw new CliError('TESSERA_KEK is not set: signing keys are stored sealed under it, never in clear');
  if (bytes === undefined) throw new CliError(`${file}: not 32 bytes as base64 or hex`);
  return KeyEncryptionKey.of(bytes);
}

/** What a key is doing at `now`. */
function stateOf(key: StoredSigningKey, all: readonly StoredSigningKey[], now: number): string {
  if (key.retiresAt !== undefined) return key.retiresAt <= now ? 'retired' : 'retiring';
  if (signingKeyAt(all, now)?.kid === key.kid) return 'signing';
  if (key.activeFrom !== undefined && key.activeFrom > now) return 'activating';
  return 'published';
}

const iso = (ms: number | undefined) => (ms === undefined ? '-' : new Date(ms).toISOString());

/** `tessera keys ...`: Tessera's own signing keys, rotated without a restart. */
export async function keysCommand(
  argv: string[],
  ctx: () => Promise<CliContext>,
  io: Io,
  env: NodeJS.ProcessEnv,
  now = Date.now,
): Promise<void> {
  const [verb, ...rest] = argv;
  let parsed: { values: { algorithm?: string; json?: boolean; at?: string }; positionals: string[] };
  try {
    parsed = parseArgs({
      args: rest,
      options: { algorithm: { type: 'string' }, json: { type: 'boolean' }, at: { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new CliError((err as Error).message, 2);
  }
  const { values: v, positionals } = parsed;
  const kid = positionals[0];
  if ((verb === 'activate' || verb === 'retire') && (kid === undefined || positionals.length !== 1))
    throw new CliError(`keys ${verb} takes one <kid>`, 2);
  if ((verb === 'add' || verb === 'list') && positionals.length > 0) throw new CliError(`keys ${verb} takes no argument`, 2);
  const refused = [UnknownKeyError, KeyStateError];
  switch (verb) {
    case 'add': {
      const key = await withContext(ctx, async (c) => {
        const alg = (v.algorithm ?? c.settings.jwtKey.algorithm) as JwtAlgorithm;
        if (!JWT_ALGORITHMS.includes(alg)) throw new CliError(`--algorithm: one of ${JWT_ALGORITHMS.join(', ')}`, 2);
        return new SigningKeyRepository(c.redis, c.keys).add(alg, await kekOf(env, c.settings.kek), now());
      });
      io.out(`added ${key.alg} key, published now; \`tessera keys activate ${key.kid}\` makes it sign`);
      io.out(key.kid);
      return;
    }
    case 'list': {
      const all = await withContext(ctx, (c) => new SigningKeyRepository(c.redis, c.keys).list());
      const t = now();
      const rows = all.map((k) => ({
        kid: k.kid,
        algorithm: k.alg,
        state: stateOf(k, all, t),
        created: iso(k.createdAt),
        activeFrom: iso(k.activeFrom),
        retiresAt: iso(k.retiresAt),
      }));
      if (v.json === true) io.out(JSON.stringify(rows));
      else for (const r of rows) io.out([r.kid, r.algorithm, r.state, r.created, r.activeFrom, r.retiresAt].join('\t'));
      return;
    }
    case 'activate': {
      const key = await withContext(
        ctx,
        (c) => new SigningKeyRepository(c.redis, c.keys).activate(kid as string, now(), c.settings.jwksMaxAgeS * 1000),
        refused,
      );
      io.out(`${key.kid} signs from ${iso(key.activeFrom)}`);
      return;
    }
    case 'retire': {
      const at = v.at === undefined ? now() : Date.parse(v.at);
      if (Number.isNaN(at)) throw new CliError(`--at ${JSON.stringify(v.at)}: not an ISO 8601 time`, 2);
      const key = await withContext(ctx, (c) => new SigningKeyRepository(c.redis, c.keys).retire(kid as string, at, now()), refused);
      io.out(`${key.kid} retires at ${iso(key.retiresAt)}: its tokens verify until then`);
      return;
    }
    default:
      throw unknownVerb('keys', verb, 'add|list|activate|retire');
  }
}
