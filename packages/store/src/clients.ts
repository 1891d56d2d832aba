import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { TesseraError } from '@tessera/core';
import { guarded } from './errors.ts';
import type { KeyLayout } from './keys.ts';
import type { TesseraRedis } from './redis.ts';

export class ClientExistsError extends TesseraError {
  override readonly code = 'ERR_CLIENT_EXISTS';
}

export interface ClientInfo {
  readonly id: string;
  readonly createdAt: string;
}

/** Client ids: 1-64 of letters, digits and . _ - */
export function validClientId(id: string): boolean {
  return /^[A-Za-z0-9._-]{1,64}$/.test(id);
}

const sha256 = (text: string) => createHash('sha256').update(text).digest();

/**
 * Registered callers of /oauth/introspect and /oauth/revoke. Secrets are 256-bit random values
 * generated here (or at least 32 characters when given), so a SHA-256 of the secret is stored: a
 * slow password hash would only slow every introspection down without adding safety.
 */
export class ClientRepository {
  constructor(
    private readonly redis: TesseraRedis,
    private readonly keys: KeyLayout,
  ) {}

  /** Registers a client; returns its secret (generated when not given). */
  async add(id: string, secret?: string): Promise<string> {
    if (!validClientId(id)) throw new TypeError(`invalid client id ${JSON.stringify(id)}: 1-64 letters, digits or . _ -`);
    if (secret !== undefined && secret.length < 32) throw new TypeError('a client secret must be at least 32 characters');
    const value = secret ?? randomBytes(32).toString('base64url');
    const created = await guarded(() => this.redis.hsetnx(this.keys.client(id), 'secret', sha256(value).toString('hex')));
    if (created === 0) throw new ClientExistsError(`client ${id} already exists`);
    // the index lives in the clients' slot: listing needs no SCAN (which Redis Cluster lacks)
    await guarded(() =>
      Promise.all([
        this.redis.hset(this.keys.client(id), 'createdAt', new Date().toISOString()),
        this.redis.sadd(this.keys.clientIndex, id),
      ]),
    );
    return value;
  }

  async remove(id: string): Promise<boolean> {
    const [deleted] = await guarded(() => Promise.all([this.redis.del(this.keys.client(id)), this.redis.srem(this.keys.clientIndex, id)]));
    return deleted > 0;
  }

  async list(): Promise<ClientInfo[]> {
    const ids = (await guarded(() => this.redis.smembers(this.keys.clientIndex))).sort();
    const created = await guarded(() => Promise.all(ids.map((id) => this.redis.hget(this.keys.client(id), 'createdAt'))));
    return ids.map((id, i) => ({ id, createdAt: created[i] ?? '' }));
  }

  /** Constant-time check of a client's secret. */
  async verify(id: string, secret: string): Promise<boolean> {
    if (!validClientId(id)) return false;
    const stored = await guarded(() => this.redis.hget(this.keys.client(id), 'secret'));
    if (stored === null) return false;
    return timingSafeEqual(Buffer.from(stored, 'hex'), sha256(secret));
  }
}
