/**
 * Shared fixtures of the core unit tests: users, requests, outcomes and an in-memory `LoginPorts`.
 * Plain data and functions, runtime-neutral (Vitest under Node, the shim under Deno).
 */

import type { Dialect } from '../src/dialects/dialect.ts';
import { UnavailableError } from '../src/errors.ts';
import { hmacJwtKey, type JwtKey, type JwtKeySet, JwtSigner } from '../src/jwt.ts';
import type { GateResult, LoginContext, LoginPolicy, LoginPorts, LoginResult, Reservation } from '../src/login.ts';
import type { Outcome, Problem, ProblemReason } from '../src/outcome.ts';
import { DEFAULT_LIFETIMES } from '../src/tokens.ts';
import type { DialectName, Identifier, IssuedTokens, LoginCommand, RawRequest, TokenGrant, TokenRecord, UserRecord } from '../src/types.ts';
import type { MigrationPlan, UpstreamVerdict } from '../src/upstream.ts';

export const enc = new TextEncoder();

export function bytes(text: string): Uint8Array {
  return enc.encode(text);
}

export function concat(...parts: (string | Uint8Array)[]): Uint8Array {
  const chunks = parts.map((p) => (typeof p === 'string' ? enc.encode(p) : p));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

export const JSON_CT = 'application/json';
export const FORM_CT = 'application/x-www-form-urlencoded';

/** A multipart body with CRLF line ends; `file` parts carry a filename. */
export function multipart(boundary: string, parts: { name: string; value: string | Uint8Array; filename?: string }[]): Uint8Array {
  const pieces: (string | Uint8Array)[] = [];
  for (const p of parts) {
    const fn = p.filename === undefined ? '' : `; filename="${p.filename}"`;
    const type = p.filename === undefined ? '' : '\r\nContent-Type: application/octet-stream';
    pieces.push(`--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"${fn}${type}\r\n\r\n`, p.value, '\r\n');
  }
  pieces.push(`--${boundary}--\r\n`);
  return concat(...pieces);
}

export const PASSWORD = 'Moh@-90008';
export const HASH = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA';
/** A hash the in-memory ports call legacy: it verifies PASSWORD and asks for a rehash. */
export const LEGACY_HASH = 'pbkdf2_sha256$260000$salt$legacy';

export function makeUser(overrides: Partial<UserRecord> = {}): UserRecord {
  return {
    id: 42,
    username: 'MOH-90008',
    email: 'someone@example.com',
    passwordHash: HASH,
    scopes: ['', 'read', 'write'],
    disabled: false,
    profile: {
      persCode: '-90008',
      civilId: null,
      userMobile: null,
      userIntitutes: [],
      firstLogin: null,
      loggedInUser: null,
      userDetails: null,
    },
    ...overrides,
  };
}

/** 2023-09-25T01:21:20.250Z: a fixed clock with a sub-second part. */
export const NOW = Date.UTC(2023, 8, 25, 1, 21, 20, 250);

export const TEST_SECRET = 'test-signing-key-of-reasonable-length-0123456789';
/** TEST_SECRET as bytes: the HS256 key of POLICY's signer, for jose's jwtVerify. */
export const TEST_KEY = new TextEncoder().encode(TEST_SECRET);

/** A key set of one key. */
export async function keySet(key: Promise<JwtKey>): Promise<JwtKeySet> {
  const active = await key;
  return { active, keys: [active] };
}

export const POLICY: LoginPolicy = {
  bodyLimit: 16 * 1024,
  lifetimes: DEFAULT_LIFETIMES,
  signer: new JwtSigner(await keySet(hmacJwtKey(TEST_SECRET, 'HS256'))),
  busyWaitMs: 1000,
};

export function request(overrides: Partial<RawRequest> & { json?: unknown } = {}): RawRequest {
  const { json, ...rest } = overrides;
  const body = json === undefined ? bytes(JSON.stringify({ username: 'MOH-90008', password: PASSWORD })) : bytes(JSON.stringify(json));
  return {
    method: 'POST',
    path: '/getUserToken',
    contentType: JSON_CT,
    body,
    ip: '192.0.2.1',
    userAgent: 'test',
    authorization: '',
    ...rest,
  };
}

export interface SavedBatch {
  readonly grants: readonly TokenGrant[];
  readonly records: readonly TokenRecord[];
}

/** `LoginPorts` over an in-memory user list; every call is recorded. */
export class MemoryPorts implements LoginPorts {
  readonly lookups: Identifier[] = [];
  readonly verifications: { hash: string | null; password: string }[] = [];
  readonly saved: SavedBatch[] = [];
  readonly errors: { err: unknown; context: string }[] = [];
  /** Every closed attempt, in order. */
  readonly finished: { identifier: Identifier; ctx: LoginContext; reservation: Reservation; result: LoginResult }[] = [];
  /** Attempts refused without verification (aborted after opening, or refused before). */
  readonly refused: { identifier: Identifier; outcome: string; reservation?: string }[] = [];
  /** Gate answers to give before opening normally (e.g. busy, busy, locked). */
  readonly gateScript: GateResult[] = [];
  /** Thrown by `beginLogin` when set. */
  failFind: unknown = undefined;
  /** Thrown by `saveTokens` when set. */
  failSave: unknown = undefined;
  /** `acquireVerifySlot` answers null when set: the argon2 pool is overloaded. */
  overloaded = false;
  /** Every rehash asked for, with whether a verify slot was held meanwhile. */
  readonly rehashed: { username: string; password: string; slotHeld: boolean }[] = [];
  /** Thrown by `rehashPassword` when set. */
  failRehash: unknown = undefined;
  /** The old systems of lazy migration, by dialect: what each answers. */
  readonly upstreams = new Map<DialectName, UpstreamVerdict>();
  /** Every upstream question and every adoption, in order (with whether a verify slot was held). */
  readonly asked: { dialect: DialectName; command: LoginCommand }[] = [];
  readonly adopted: { plan: MigrationPlan; command: LoginCommand; pending: UserRecord | null; slotHeld: boolean }[] = [];
  /** What adoptUser answers instead of the user: null (bad credentials) or 'conflict'. */
  adoptAnswer: null | 'conflict' | undefined = undefined;
  private slotsHeld = 0;
  private families = 0;
  private reservations = 0;

  constructor(
    readonly users: readonly UserRecord[] = [makeUser()],
    public clock: number = NOW,
  ) {}

  async beginLogin(identifier: Identifier, _ctx: LoginContext, _firstTry: boolean): Promise<GateResult> {
    this.lookups.push(identifier);
    if (this.failFind !== undefined) throw this.failFind;
    const scripted = this.gateScript.shift();
    if (scripted !== undefined) return scripted;
    const key = identifier.by === 'email' ? 'email' : 'username';
    this.reservations++;
    const user = this.users.find((u) => u[key] === identifier.value) ?? null;
    const lock = user === null ? `${identifier.by === 'email' ? 'e' : 'u'}:${identifier.value}` : `a:${user.id}`;
    return { status: 'open', user, reservation: { id: `r${this.reservations}`, lock } };
  }

  async finishLogin(identifier: Identifier, ctx: LoginContext, reservation: Reservation, result: LoginResult): Promise<void> {
    this.finished.push({ identifier, ctx, reservation, result });
  }

  async abortLogin(identifier: Identifier, _ctx: LoginContext, reservation: Reservation, outcome: 'unavailable'): Promise<void> {
    this.refused.push({ identifier, outcome, reservation: reservation.id });
  }

  async refuseLogin(identifier: Identifier, _ctx: LoginContext, outcome: 'unavailable'): Promise<void> {
    this.refused.push({ identifier, outcome });
  }

  async acquireVerifySlot(): Promise<(() => void) | null> {
    if (this.overloaded) return null;
    this.slotsHeld++;
    let released = false;
    return () => {
      if (!released) this.slotsHeld--;
      released = true;
    };
  }

  async verifyPassword(hash: string | null, password: string): Promise<boolean> {
    this.verifications.push({ hash, password });
    return (hash === HASH || hash === LEGACY_HASH) && password === PASSWORD;
  }

  needsRehash(hash: string): boolean {
    return hash === LEGACY_HASH;
  }

  async rehashPassword(user: UserRecord, password: string): Promise<void> {
    this.rehashed.push({ username: user.username, password, slotHeld: this.slotsHeld > 0 });
    if (this.failRehash !== undefined) throw this.failRehash;
  }

  hasUpstream(dialect: DialectName): boolean {
    return this.upstreams.has(dialect);
  }

  async askUpstream(dialect: Dialect, command: LoginCommand): Promise<UpstreamVerdict> {
    this.asked.push({ dialect: dialect.name, command });
    return this.upstreams.get(dialect.name) ?? { kind: 'unreachable', detail: 'none' };
  }

  async adoptUser(plan: MigrationPlan, command: LoginCommand, pending: UserRecord | null): Promise<UserRecord | null | 'conflict'> {
    this.adopted.push({ plan, command, pending, slotHeld: this.slotsHeld > 0 });
    if (this.adoptAnswer !== undefined) return this.adoptAnswer;
    return makeUser({ id: plan.id ?? 7, username: pending?.username ?? plan.username, passwordHash: HASH });
  }

  async saveTokens(grants: readonly TokenGrant[], record: (grant: TokenGrant) => TokenRecord): Promise<void> {
    if (this.failSave !== undefined) throw this.failSave;
    this.saved.push({ grants, records: grants.map(record) });
  }

  now(): number {
    return this.clock;
  }

  /** Time passes only when someone waits. */
  async waitForTurn(_lock: string, ms: number): Promise<void> {
    this.clock += ms;
  }

  newFamilyId(): string {
    this.families++;
    return `family-${this.families}`;
  }

  onError(err: unknown, context: string): void {
    this.errors.push({ err, context });
  }
}

export const unavailable = (): UnavailableError => new UnavailableError('redis down');

/** Hand-made tokens for render tests: access expires 86400 s after NOW's whole second. */
export function ministryTokens(): IssuedTokens {
  const issuedAt = Math.floor(NOW / 1000) * 1000;
  const grant = (value: string, kind: 'access' | 'refresh', lifetime: number): TokenGrant => ({
    value,
    kind,
    format: 'uuid',
    lifetime,
    issuedAt,
    expiresAt: issuedAt + lifetime * 1000,
  });
  return {
    access: grant('d0816a77-af67-43fc-bad1-2edb2aae3dc5', 'access', 86_400),
    refresh: grant('542f00d0-4be3-4b47-940a-62e354b9c3e7', 'refresh', 2_592_000),
    family: 'family-1',
  };
}

/** The headers every token-route answer carries, written out independently of the code. */
export const NO_STORE = Object.freeze({ 'content-type': 'application/json', 'cache-control': 'no-store', pragma: 'no-cache' });

export const FIELD_REASONS = ['missing', 'blank', 'null', 'invalid_type', 'invalid_format', 'too_long', 'prohibited_character'] as const;
export const BODY_REASONS = ['not_object', 'bad_json', 'bad_encoding', 'unsupported_media_type', 'too_large'] as const;
export const ALL_REASONS: readonly ProblemReason[] = [...FIELD_REASONS, ...BODY_REASONS];

/** A Problem as the decoder or a dialect's parser would produce it for `reason`. */
export function problemOf(reason: ProblemReason, field = 'username'): Problem {
  switch (reason) {
    case 'missing':
    case 'blank':
    case 'null':
    case 'invalid_type':
    case 'invalid_format':
    case 'too_long':
      return { reason, fields: [{ field, reason }] };
    case 'prohibited_character':
      return { reason, fields: [{ field, reason, characters: [0] }] };
    case 'not_object':
      return { reason, detail: 'list' };
    case 'bad_json':
      return { reason, detail: 'Unexpected end of JSON input' };
    case 'bad_encoding':
      return { reason, detail: 'malformed multipart body' };
    case 'unsupported_media_type':
      return { reason, contentType: 'text/plain' };
    case 'too_large':
      return { reason };
  }
}

export function malformed(reason: ProblemReason, field?: string): Outcome {
  return { kind: 'malformed', problem: problemOf(reason, field) };
}

export function issuedOutcome(tokens: IssuedTokens = ministryTokens(), user: UserRecord = makeUser(), now: number = NOW): Outcome {
  return { kind: 'issued', tokens, user, now };
}
