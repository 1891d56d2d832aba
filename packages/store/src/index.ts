export { ClientExistsError, type ClientInfo, ClientRepository, validClientId } from './clients.ts';
export { guarded, isRedisUnavailable, storeError } from './errors.ts';
export { accountLock, identifierKey, LOCKOUT_INDEX_MAX, type LockListing, type LockoutSettings, LoginGate, lockName } from './gate.ts';
export { tokenHash } from './hash.ts';
export { ID_BLOCK, IdBlocks } from './ids.ts';
export { type KeyLayout, keyLayout, SLOTS, shardTags } from './keys.ts';
export * from './lua-codes.ts';
export { legacyLayoutProblem, type MigrateOptions, type MigrationCounts, migrateKeys } from './migrate.ts';
export { outboxBacklog } from './outbox.ts';
export { decodeRecord, encodeRecord } from './record.ts';
export {
  blockingReader,
  connectRedis,
  isClusterUrl,
  luaScripts,
  newRedisClient,
  type RedisConnectOptions,
  type ScriptCommands,
  type TesseraRedis,
} from './redis.ts';
export { type ChannelListener, type RevocationFeed, type RevocationListener, revocationFeed, subscription } from './revocation-feed.ts';
export { KeyStateError, SigningKeyRepository, type StoredSigningKey, signingKeyAt, UnknownKeyError } from './signing-keys.ts';
export { entryHash } from './token-index.ts';
export { type Eviction, type RevocationMessage, type TokenLimits, TokenRepository } from './tokens.ts';
export type { PreparedBatch } from './user-turns.ts';
export {
  DEFAULT_SCOPES,
  decodeUser,
  EmailTakenError,
  type NewUser,
  type PutOptions,
  type PutResult,
  type RevocationDue,
  UnknownUserError,
  UserExistsError,
  UserIdTakenError,
  UserRepository,
  validUsername,
} from './users.ts';
