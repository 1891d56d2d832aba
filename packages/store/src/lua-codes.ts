/**
 * The numeric answers of the Lua scripts in `lua/`, named (as BullMQ's `enums/error-code.ts`
 * names its scripts' codes). Each script's header says what it returns in these names; the
 * TypeScript that reads an answer compares with them, never with a bare number.
 */

/** beginLogin-3.lua: the first element of its answer. */
export enum BeginLogin {
  /** `{0, lock, user field/value...}`: a verification is reserved against `lock`. */
  Reserved = 0,
  /** `{1, retry after ms}` (-1: permanently). */
  Locked = 1,
  /** `{2, lock}`: N verifications already in flight; retry shortly. */
  Busy = 2,
  /** `{3, retry after ms}`: the address is over its rate (countRate-1.lua's count, named here). */
  Throttled = 3,
  /** `{4, username}`: the email's index entry names this account, in another shard. */
  Elsewhere = 4,
  /** `{5}`: the account reached through an email's index entry does not hold that email. */
  Stale = 5,
}

/** claimIndex-n.lua: the first of its answer's three items per entry. */
export enum ClaimIndex {
  /** `0, holder, settled`: another account holds the entry. */
  Held = 0,
  /** It was free or stale, and names the claiming account now. */
  Claimed = 1,
  /** It named the claiming account already. */
  Ours = 2,
}

/** finishLogin-5.lua: the first element of its answer. */
export enum FinishLogin {
  /** `{0}`: a success recorded, or a failure that did not lock. */
  Recorded = 0,
  /** `{1, retry after ms}`: this failure engaged the lockout. */
  LockEngaged = 1,
}

/** escalateLock-2.lua answers the lock's end in ms, or one of these. */
export enum EscalateLock {
  Permanent = -1,
  /** The lock was cleared or ended meanwhile: the event was late. */
  Late = 0,
}

/** clearLock-2.lua. */
export enum ClearLock {
  /** Nothing was locked (no event appended). */
  NothingLocked = 0,
  Cleared = 1,
}

/**
 * putUsers-2.lua: per user, the first of `code, id, flags`; EmailTaken, IdTaken and IdsExhausted
 * are decided before the script, by the claims of the index entries (user-batch.ts), in the same names.
 */
export enum PutUser {
  Unchanged = 0,
  Created = 1,
  Updated = 2,
  /** 'create' of an existing username (id: the existing user's). */
  UsernameTaken = -1,
  /** The email is another user's (id 0). */
  EmailTaken = -2,
  /** The id given is another user's (id 0). */
  IdTaken = -3,
  /** 'update' of a user whose id is another than the one given (id: the existing one). */
  IdMismatch = -4,
  /** No id left under 10^14 (nothing written). */
  IdsExhausted = -5,
  /** Index entries given (one Redis), but the account exists or an entry is there: nothing written, the caller goes the steps. */
  Unclaimed = -6,
}

/** putUsers-2.lua: the `flags` of an update, a bit set. */
export enum PutUserFlag {
  PasswordChanged = 1,
  Disabled = 2,
}

/** setPassword-2.lua. */
export enum SetPassword {
  NoSuchUser = -1,
  /** The stored hash is not the expected one (nothing written). */
  HashChanged = 0,
  Replaced = 1,
}

/** patchUser-1.lua. */
export enum PatchUser {
  NoSuchUser = -1,
  Updated = 1,
}

/** useRefresh-1.lua and consumeAccess-1.lua: the first element of `{code, record}`. */
export enum TokenScript {
  /** `{-1}`: unknown or expired. */
  Unknown = -1,
  /** Was live; now marked used (useRefresh) or deleted (consumeAccess). */
  Live = 0,
  /** Already used: a refresh token presented again (useRefresh). */
  Used = 1,
  /** Not the kind the script takes (left untouched). */
  WrongKind = 2,
}

/** familyLive-2.lua. */
export enum FamilyLive {
  /** The family was revoked while the refresh wrote its tokens: they die with it. */
  Revoked = 0,
  /** The refresh's event was appended. */
  Live = 1,
}

/** appendAudit-2.lua. */
export enum AppendAudit {
  AlreadyThere = 0,
  Appended = 1,
}

/** dropLegacyFamily-1.lua. */
export enum DropLegacyFamily {
  /** The entry changed or is gone. */
  Changed = 0,
  Removed = 1,
}
