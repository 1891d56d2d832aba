import type { UserRecord } from '@tessera/core';
import type { Claimant } from './index-entries.ts';
import type { NewUser, PutOptions } from './user-record.ts';

/*
 * The turns of a putMany call (user-batch.ts): users that could meet (a username, an email or an
 * id in common) go one after another, the others at once; and what a call takes, so that a
 * caller can tell whether two calls could meet (the importer's batches).
 */

/** A user of a `putMany` call on its way through the steps (its index entries: Claimant). */
export interface Pending extends Claimant {
  readonly at: number;
  readonly user: NewUser;
  readonly email: string;
  readonly fields: string[];
  /** The stored record, when there is one. */
  existing?: UserRecord | null;
  /** The stored hash as prepare read it (for the call's first turn). */
  read?: Record<string, string>;
  /** The id the sequence gave this new user in the call's order (one id at a time; -1: none left). */
  offered?: number;
  id?: number;
  readonly claimed: string[];
  readonly settle: string[];
}

/**
 * What users' writes take: their usernames, their (normalised) emails, the emails their accounts
 * hold now (an update frees it), and their ids, given, offered or their accounts' own (a write
 * that finds an account repairs its entries); for each, the last turn of a call that takes it.
 * Two writes that share none are independent: they may go in any order, or at once.
 */
export class Taken {
  private readonly usernames = new Map<string, number>();
  private readonly emails = new Map<string, number>();
  private readonly ids = new Map<number, number>();

  /** The turn of a write that goes after every earlier write it shares a name with; -1: none. */
  turnOf(username: string, emails: readonly string[], id: number | undefined): number {
    let turn = Math.max(this.usernames.get(username) ?? -1, id === undefined ? -1 : (this.ids.get(id) ?? -1));
    for (const email of emails) turn = Math.max(turn, this.emails.get(email) ?? -1);
    return turn;
  }

  take(username: string, emails: readonly string[], id: number | undefined, turn: number): void {
    this.usernames.set(username, turn);
    for (const email of emails) this.emails.set(email, turn);
    if (id !== undefined) this.ids.set(id, turn);
  }

  /** Whether a write of this username is taken here. */
  hasUsername(username: string): boolean {
    return this.usernames.has(username);
  }

  /** Whether a write taking anything of `other` could meet one taking something of this. */
  meets(other: Taken): boolean {
    for (const u of this.usernames.keys()) if (other.usernames.has(u)) return true;
    for (const e of this.emails.keys()) if (other.emails.has(e)) return true;
    for (const i of this.ids.keys()) if (other.ids.has(i)) return true;
    return false;
  }
}

/** A putMany call whose first step is done (UserBatches.prepare), to commit. */
export class PreparedBatch {
  constructor(
    /** What its users' writes take, ids offered included. */
    readonly taken: Taken,
    readonly turns: readonly (readonly Pending[])[],
    readonly options: PutOptions,
    readonly count: number,
  ) {}
}

/**
 * The turns of users checked and read (prepare): a user goes after every earlier one it shares a
 * username, email or id with, the email its account holds now included (an earlier update may free
 * it, a later one take it), and its account's own id (a write that finds it repairs its entry).
 */
export function inTurns(pending: readonly Pending[], options: PutOptions): PreparedBatch {
  const turns: Pending[][] = [];
  const taken = new Taken();
  for (const p of pending) {
    const id = p.user.id ?? p.offered ?? (p.read?.id === undefined ? undefined : Number(p.read.id));
    const held = p.read?.email;
    // (no email is no name: users without one share nothing by it)
    const emails = [p.email, ...(held && held !== p.email ? [held] : [])].filter((e) => e !== '');
    const turn = taken.turnOf(p.user.username, emails, id) + 1;
    taken.take(p.user.username, emails, id, turn);
    const group = turns[turn] ?? [];
    turns[turn] = group;
    group.push(p);
  }
  return new PreparedBatch(taken, turns, options, pending.length);
}
