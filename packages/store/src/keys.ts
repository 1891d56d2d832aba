/**
 * Redis key layout. Users live under one hash tag, `{users}`: one Lua script can read a user and
 * its indexes in one slot, and login traffic is bounded by argon2, not by one Redis node. Tokens are
 * spread over the cluster, one slot per token hash; a user's token index is one slot per user.
 */
export interface KeyLayout {
  readonly prefix: string;
  readonly userSeq: string;
  readonly userPrefix: string;
  /** Prefix of the user keys (`u:<username>`, `id:<n>`, `email:<email>`), for scripts that name them. */
  readonly indexPrefix: string;
  user(username: string): string;
  email(lowerEmail: string): string;
  userId(id: number): string;
  /** A token's record, by tokenHash (record.ts describes the value); expires with the token. */
  token(hash: string): string;
  /** Remembers, past a PEB token's expiry, that it expired (error 10 rather than 9). */
  expired(hash: string): string;
  /** Marks a revoked family, so a rotation racing the revocation notices it. */
  revokedFamily(family: string): string;
  /**
   * A user's token index (indexTokens-1.lua): one sorted set holding the user's login families by
   * their end and each family's tokens oldest first, bounded, in the user's slot.
   */
  tokenIndex(userId: number): string;
  /** A user's token index of the earlier layout (dropLegacyFamily-1.lua): read by revocations until it expires. */
  legacyIndex(userId: number): string;
  /** A blacklisted SimpleJWT refresh token, by jti. */
  blacklist(jti: string): string;
  /** Failures and lock of one login identifier (`u:<username>` or `e:<email>`). */
  lockout(identifier: string): string;
  /** Verifications in flight for one identifier. */
  reservations(identifier: string): string;
  /** Login attempts of one client address (an IPv6 /64, see rateGroup) in the current rate window. */
  rate(address: string): string;
  /** Locked identifiers, scored by the lock's end. */
  readonly lockouts: string;
  /** Events committed with their change, drained by the worker. */
  readonly outbox: string;
  /** Users whose tokens an import must still revoke (putUsers-3.lua): user id → reason. */
  readonly revocationsDue: string;
  /** A registered introspection client. */
  client(id: string): string;
  /** Ids of all registered clients. */
  readonly clientIndex: string;
  /** Pub/sub channel announcing revoked token hashes (the SDK's cache listens). */
  readonly revocations: string;
  /** The signing keys made by `tessera keys` (signing-keys.ts): kid → sealed record. */
  readonly signingKeys: string;
  /** Pub/sub channel announcing a change of the signing keys (every ingress reloads them). */
  readonly signingKeysChanged: string;
}

export function keyLayout(prefix: string): KeyLayout {
  const users = `${prefix}{users}:`;
  return {
    prefix,
    userSeq: `${users}seq`,
    userPrefix: `${users}u:`,
    indexPrefix: users,
    user: (username) => `${users}u:${username}`,
    email: (lowerEmail) => `${users}email:${lowerEmail}`,
    userId: (id) => `${users}id:${id}`,
    token: (hash) => `${prefix}t:{${hash}}`,
    expired: (hash) => `${prefix}x:{${hash}}`,
    revokedFamily: (family) => `${prefix}fr:{${family}}`,
    tokenIndex: (userId) => `${prefix}ti:{u${userId}}`,
    legacyIndex: (userId) => `${prefix}ui:{u${userId}}`,
    blacklist: (jti) => `${prefix}jb:{${jti}}`,
    lockout: (identifier) => `${users}lk:${identifier}`,
    reservations: (identifier) => `${users}lki:${identifier}`,
    rate: (address) => `${users}rl:${address}`,
    lockouts: `${users}lockouts`,
    outbox: `${users}outbox`,
    revocationsDue: `${users}revoke`,
    client: (id) => `${prefix}{clients}:${id}`,
    clientIndex: `${prefix}{clients}`,
    revocations: `${prefix}revocations`,
    signingKeys: `${prefix}{keys}:jwt`,
    signingKeysChanged: `${prefix}jwtkeys`,
  };
}
