import { decodeBody } from './body.ts';
import type { Dialect } from './dialects/dialect.ts';
import { isUnavailable } from './errors.ts';
import type { Outcome } from './outcome.ts';
import { type JwtSigner, mintPlan, type TokenLifetimes } from './tokens.ts';
import type { DialectName, HttpAnswer, Identifier, IssuedTokens, RawRequest, TokenGrant, TokenRecord, UserRecord } from './types.ts';

/** What the login handler needs from the outside world. Implemented by store and passwords. */
export interface LoginPorts {
  findUser(identifier: Identifier): Promise<UserRecord | null>;
  /** Verifies against `hash`, or against a fixed dummy hash when `hash` is null (same cost). */
  verifyPassword(hash: string | null, password: string): Promise<boolean>;
  /** Persists every token under its hash with a TTL equal to its lifetime. */
  saveTokens(grants: readonly TokenGrant[], record: (grant: TokenGrant) => TokenRecord): Promise<void>;
  now(): number;
  newFamilyId(): string;
  /** Told about every unexpected error (for logs); never about expected outcomes. */
  onError(err: unknown, context: string): void;
}

export interface LoginPolicy {
  readonly bodyLimit: number;
  readonly lifetimes: TokenLifetimes;
  readonly signer: JwtSigner;
}

/** Decides the outcome of one login request. Never throws. */
export async function decideLogin(dialect: Dialect, req: RawRequest, ports: LoginPorts, policy: LoginPolicy): Promise<Outcome> {
  if (req.method !== 'POST') return { kind: 'method_not_allowed', method: req.method, allow: dialect.allow };
  const body = decodeBody(req.contentType, req.body, policy.bodyLimit);
  if (!body.ok) return { kind: 'malformed', problem: body.problem };
  const parsed = dialect.parseLogin(body.fields);
  if (!parsed.ok) return { kind: 'malformed', problem: parsed.problem };
  const { identifier, password } = parsed.command;
  try {
    const user = await ports.findUser(identifier);
    // Unknown users cost one verification against the dummy hash, so timing says nothing.
    const verified = await ports.verifyPassword(user?.passwordHash ?? null, password);
    if (user === null || !verified || user.disabled) return { kind: 'bad_credentials' };
    const now = ports.now();
    const family = ports.newFamilyId();
    const minted = await mintPlan(dialect.issues, { now, userId: user.id, lifetimes: policy.lifetimes, signer: policy.signer });
    const tokens: IssuedTokens =
      minted.refresh === undefined ? { access: minted.access, family } : { access: minted.access, refresh: minted.refresh, family };
    const grants = tokens.refresh === undefined ? [tokens.access] : [tokens.access, tokens.refresh];
    await ports.saveTokens(grants, (g) => tokenRecord(g, dialect.name, user, family));
    return { kind: 'issued', tokens, user, now };
  } catch (err) {
    if (isUnavailable(err)) return { kind: 'unavailable' };
    ports.onError(err, `login:${dialect.name}`);
    return { kind: 'internal_error' };
  }
}

/** Who a token belongs to: what its record keeps of the user. */
export type TokenOwner = Pick<UserRecord, 'id' | 'username' | 'scopes'>;

export function tokenRecord(g: TokenGrant, dialect: DialectName, user: TokenOwner, family: string): TokenRecord {
  const base = {
    kind: g.kind,
    format: g.format,
    dialect,
    userId: user.id,
    username: user.username,
    scopes: user.scopes,
    iat: Math.floor(g.issuedAt / 1000),
    exp: Math.floor(g.expiresAt / 1000),
    family,
  };
  return g.jti === undefined ? base : { ...base, jti: g.jti };
}

/** Handles one login request end to end: outcome decided, then rendered in the dialect. */
export async function handleLogin(dialect: Dialect, req: RawRequest, ports: LoginPorts, policy: LoginPolicy): Promise<HttpAnswer> {
  if (req.method === 'OPTIONS' && dialect.options !== undefined) return dialect.options();
  return dialect.render(await decideLogin(dialect, req, ports, policy));
}
