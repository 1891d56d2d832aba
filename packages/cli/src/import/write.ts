import type { RevokeReason } from '@tessera/core';
import { newEvent } from '@tessera/events';
import type { NewUser, PutResult } from '@tessera/store';
import type { CliContext } from '../context.ts';
import type { ImportUser } from './row.ts';

/** Users per putUsers call: one call holds Redis for all of them (50: about half a millisecond). */
export const SCRIPT_USERS = 50;

/**
 * What the earlier rows of this file did, for a dry run only: a real run learns of a username,
 * email or id met earlier in the file from the store, where the earlier row already is. A dry run
 * writes nothing, so it remembers the rows that would have been written (about 100 bytes a row).
 */
export class DryRunLedger {
  private readonly users = new Set<string>();
  private readonly emails = new Map<string, string>();
  private readonly ids = new Map<number, string>();

  /** What this row would come to, given what the store said of it alone. */
  decide(user: NewUser, mode: 'create' | 'update', store: PutResult): PutResult {
    const email = user.email ? user.email.trim().toLowerCase() : '';
    const emailOwner = email === '' ? undefined : this.emails.get(email);
    const idOwner = user.id === undefined ? undefined : this.ids.get(user.id);
    let result = store;
    if (this.users.has(user.username)) result = mode === 'create' ? { status: 'exists', id: 0 } : { status: 'updated', id: 0 };
    else if (emailOwner !== undefined && emailOwner !== user.username) result = { status: 'email_taken' };
    else if (idOwner !== undefined && idOwner !== user.username) result = { status: 'id_taken' };
    if (result.status === 'created' || result.status === 'updated' || result.status === 'unchanged') {
      this.users.add(user.username);
      if (email !== '') this.emails.set(email, user.username);
      if (user.id !== undefined) this.ids.set(user.id, user.username);
    }
    return result;
  }
}

/**
 * The hash a row's plain password gets: the user's own when it already verifies (so a re-run
 * changes nothing; with 'create' the row will be skipped anyway), else a fresh argon2id hash (a
 * dry run only marks it new).
 */
async function passwordHash(c: CliContext, row: ImportUser, mode: 'create' | 'update', dryRun: boolean): Promise<NewUser> {
  if (row.password === undefined) return row.user;
  const existing = await c.users.get(row.user.username);
  if (existing !== null && (mode === 'create' || (await c.hasher.verify(existing.passwordHash, row.password))))
    return { ...row.user, passwordHash: existing.passwordHash };
  return { ...row.user, passwordHash: dryRun ? '!new' : await c.hasher.hash(row.password) };
}

/**
 * Writes one batch in file order: plain passwords hashed first (all at once, on the thread pool),
 * then putUsers scripts of SCRIPT_USERS users sent together, so they run in order. Each script
 * records what it created and updated as one event each, with their count: an import of a
 * million users is 20,000 audit events, not a million. An update that changed a user's password
 * or disabled them revokes their tokens, as `users passwd` and `users disable` do.
 */
export async function writeBatch(
  c: CliContext,
  rows: readonly ImportUser[],
  mode: 'create' | 'update',
  ledger: DryRunLedger | null,
): Promise<PutResult[]> {
  const dryRun = ledger !== null;
  const users = await Promise.all(rows.map((row) => passwordHash(c, row, mode, dryRun)));
  const calls: Promise<PutResult[]>[] = [];
  for (let i = 0; i < users.length; i += SCRIPT_USERS) {
    const event = JSON.stringify(newEvent('user.changed', { dialect: 'cli', reason: 'import' }));
    calls.push(c.users.putMany(users.slice(i, i + SCRIPT_USERS), { mode, dryRun, event }));
  }
  const answers = (await Promise.all(calls)).flat();
  if (ledger !== null) return answers.map((a, i) => ledger.decide(users[i] as NewUser, mode, a));
  for (const a of answers) if (a.status === 'updated' && a.revoke !== undefined) await revokeUserTokens(c, a.id, a.revoke);
  return answers;
}

/** Revokes every token of a user (a password changed, a user disabled), with its token.revoked event. */
export async function revokeUserTokens(c: CliContext, userId: number, reason: RevokeReason): Promise<number> {
  const count = await c.tokens.revokeUser(userId, reason);
  await c.gate.appendEvent(JSON.stringify(newEvent('token.revoked', { dialect: 'cli', userId, reason, count, outcome: 'revoked' })));
  return count;
}
