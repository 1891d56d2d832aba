import { looksLikeEmail, normaliseEmail } from './fields.ts';
import type { LoginCommand, UserProfile } from './types.ts';
import { validUsername } from './user-fields.ts';

/*
 * Lazy migration: a dialect's old system decides the first login of a user Tessera does not know
 * (or one imported as pending), and Tessera reads its answer as a client of that API. Each dialect
 * carries a codec that writes the request and reads the answer; the ingress sends it.
 */

/** What the old system's answer tells of the user, where its dialect carries it. */
export interface UpstreamUser {
  /** The user's id there (SimpleJWT `user_id`, PEB check's `user_id`): kept when free here. */
  readonly id?: number;
  readonly username?: string;
  readonly email?: string;
  readonly scopes?: readonly string[];
  readonly profile?: Partial<UserProfile>;
}

/** What the old system said of a login. */
export type UpstreamVerdict =
  | { readonly kind: 'accepted'; readonly user: UpstreamUser }
  /** Bad credentials: the attempt counts as a failure. */
  | { readonly kind: 'rejected' }
  /** Reached but no clear yes or no (an error, a timeout after sending, a lock there): counted as a failure, answered "unavailable". */
  | { readonly kind: 'failed'; readonly detail: string }
  /** Never reached (refused, no such host, the circuit open): not counted, answered "unavailable". */
  | { readonly kind: 'unreachable'; readonly detail: string };

/** A request body for the old system. */
export interface UpstreamRequest {
  readonly contentType: string;
  readonly body: string;
}

/** How a dialect reads its old system's login answer. */
export type UpstreamReading =
  | { readonly kind: 'accepted'; readonly user: UpstreamUser; readonly token?: string }
  | { readonly kind: 'rejected' }
  | { readonly kind: 'failed'; readonly detail: string };

/** A dialect speaking to its old system as one of that system's clients. */
export interface UpstreamCodec {
  login(command: LoginCommand): UpstreamRequest;
  readLogin(status: number, body: string): UpstreamReading;
  /**
   * A second call that names the user when the login answer carries only a token (PEB's check, at
   * the login URL plus `path`). Its failure leaves the login accepted, with what the login said.
   */
  readonly details?: {
    readonly path: string;
    request(token: string): UpstreamRequest;
    read(status: number, body: string): UpstreamUser | null;
  };
}

/** A JSON object answer, or null. */
export function jsonObject(body: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(body);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export const jsonRequest = (fields: Record<string, string>): UpstreamRequest => ({
  contentType: 'application/json',
  body: JSON.stringify(fields),
});

export const formRequest = (fields: Record<string, string>): UpstreamRequest => ({
  contentType: 'application/x-www-form-urlencoded',
  body: new URLSearchParams(fields).toString(),
});

/** A text field as stored: strings as they are, numbers as text, anything else absent. */
export function textOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

/** The user a lazy migration creates: what the old system told, under a username Tessera can hold. */
export interface MigrationPlan {
  readonly username: string;
  readonly email: string | null;
  /** The email is the one the login named (PEB by email): it stays, or the migration does not happen. */
  readonly emailLogin: boolean;
  readonly id?: number;
  readonly scopes?: readonly string[];
  readonly profile?: Partial<UserProfile>;
}

/** FNV-1a of a text, 8 hex digits: tells apart usernames made from different emails (not a secret). */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/**
 * An email made into a username Tessera can hold: the email itself when it is one, else with the
 * characters it cannot hold as `_` (cut to fit) and a short hash of the email, so two emails that
 * read alike (o'brien@, o#brien@) never become one username.
 */
function usernameFromEmail(email: string): string {
  if (validUsername(email)) return email;
  return `${email.replace(/[^\p{L}\p{N}@.+\-_]/gu, '_').slice(0, 140)}.${fnv1a(email)}`;
}

/**
 * What to create for a user the old system vouched for. The username is the one the old system
 * names when it names a valid one (its canonical spelling: one account, whatever case the login
 * typed), else the login's own username, else (a login by email) the email made a valid
 * username. The email is the login's own, or the one the old system gives when it is one.
 */
export function migrationPlan(command: LoginCommand, told: UpstreamUser): MigrationPlan {
  const { identifier } = command;
  const byEmail = identifier.by === 'email';
  const named = told.username !== undefined && validUsername(told.username) ? told.username : undefined;
  const username = named ?? (byEmail ? usernameFromEmail(identifier.value) : identifier.value);
  const toldEmail = told.email !== undefined && looksLikeEmail(normaliseEmail(told.email)) ? normaliseEmail(told.email) : null;
  return {
    username,
    email: byEmail ? normaliseEmail(identifier.value) : toldEmail,
    emailLogin: byEmail,
    ...(told.id === undefined ? {} : { id: told.id }),
    ...(told.scopes === undefined ? {} : { scopes: told.scopes }),
    ...(told.profile === undefined ? {} : { profile: told.profile }),
  };
}

/** Whether a login's identifier could become a Tessera user at all (else the old system is not asked). */
export function migratable(command: LoginCommand): boolean {
  return command.identifier.by === 'email' || validUsername(command.identifier.value);
}
