import { decodeBody, type Fields } from './body.ts';
import { isUnavailable } from './errors.ts';
import type { JwtSigner } from './jwt.ts';
import type { TokenState } from './lifecycle.ts';
import type { Answered, Route } from './routes.ts';
import { HEX128, UUID_V4, verifySimpleJwt } from './tokens.ts';
import type { HttpAnswer, RawRequest, TokenRecord } from './types.ts';

/**
 * RFC 7662 token introspection and RFC 7009 token revocation for other services. Callers are
 * registered clients (HTTP Basic, or client_id/client_secret in the body).
 */

export interface OAuthPorts {
  /** Whether `secret` is the secret of client `id`. */
  authenticateClient(id: string, secret: string): Promise<boolean>;
  /** What `authenticateClient` said of this credential moments ago, if it is still remembered. */
  clientVerified?(id: string, secret: string): boolean | undefined;
  lookup(token: string): Promise<TokenState>;
  /**
   * A live access token's record remembered from an earlier lookup (see TokenCache), or undefined.
   * Optional: without it every request reads Redis.
   */
  cached?(token: string): TokenRecord | undefined;
  isBlacklisted(jti: string): Promise<boolean>;
  revokeToken(token: string): Promise<void>;
  /** Revokes a login family of a user. */
  revokeFamily(userId: number, family: string): Promise<void>;
  blacklist(token: string, jti: string, expiresAtMs: number): Promise<void>;
  now(): number;
  onError(err: unknown, context: string): void;
}

export interface OAuthPolicy {
  readonly bodyLimit: number;
  readonly signer: JwtSigner;
}

const HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store', pragma: 'no-cache' } as const;

const json = (status: number, body: unknown, extra?: Record<string, string>): HttpAnswer => ({
  status,
  headers: extra === undefined ? HEADERS : { ...HEADERS, ...extra },
  body: JSON.stringify(body),
});

/** The /oauth error answers (RFC 6749 §5.2 codes), each once; the OpenAPI document quotes them. */
export const OAUTH_ERRORS = {
  unreadable: { status: 400, error: 'invalid_request', description: 'The request body could not be read.' },
  tooLarge: { status: 400, error: 'invalid_request', description: 'The request body is too large.' },
  noToken: { status: 400, error: 'invalid_request', description: 'The token parameter is required.' },
  invalidClient: { status: 401, error: 'invalid_client', description: 'Client authentication failed.' },
  methodNotAllowed: { status: 405, error: 'invalid_request', description: 'Only POST is allowed.' },
  serverError: { status: 500, error: 'server_error', description: 'The server encountered an unexpected error.' },
  unavailable: { status: 503, error: 'temporarily_unavailable', description: 'The service is temporarily unavailable.' },
} as const;

const oauthError = (which: keyof typeof OAUTH_ERRORS, extra?: Record<string, string>): HttpAnswer => {
  const e = OAUTH_ERRORS[which];
  return json(e.status, { error: e.error, error_description: e.description }, extra);
};

export const INACTIVE: HttpAnswer = json(200, { active: false });
const INVALID_CLIENT = oauthError('invalidClient', { 'www-authenticate': 'Basic realm="tessera"' });
const UNAVAILABLE = oauthError('unavailable');
const SERVER_ERROR = oauthError('serverError');

type Credentials = { id: string; secret: string };

/** Parsed Basic headers: a service sends the same header on every call (bounded, cleared when full). */
const basicParsed = new Map<string, Credentials | null>();

function parseBasic(encoded: string): Credentials | null {
  let decoded: string;
  try {
    decoded = new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0)));
  } catch {
    return null;
  }
  const colon = decoded.indexOf(':');
  if (colon < 1) return null;
  try {
    return {
      id: decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' ')),
      secret: decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' ')),
    };
  } catch {
    return null;
  }
}

/** Client credentials from `Authorization: Basic` (RFC 6749 §2.3.1, form-encoded parts) or the body. */
export function clientCredentials(authorization: string, fields: Fields): Credentials | null {
  if (authorization !== '') {
    const known = basicParsed.get(authorization);
    if (known !== undefined) return known;
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization);
    if (m === null) return null;
    const parsed = parseBasic(m[1] as string);
    if (basicParsed.size >= 1000) basicParsed.clear();
    basicParsed.set(authorization, parsed);
    return parsed;
  }
  const { client_id: id, client_secret: secret } = fields;
  return typeof id === 'string' && typeof secret === 'string' && id !== '' ? { id, secret } : null;
}

/** Reads an /oauth request: POST, form or JSON body, client credentials, a `token`. */
function readRequest(
  req: RawRequest,
  policy: OAuthPolicy,
): { ok: true; token: string; client: Credentials } | { ok: false; answer: HttpAnswer } {
  if (req.method !== 'POST') {
    return { ok: false, answer: oauthError('methodNotAllowed', { allow: 'POST' }) };
  }
  const body = decodeBody(req.contentType, req.body, policy.bodyLimit);
  if (!body.ok) return { ok: false, answer: oauthError(body.problem.reason === 'too_large' ? 'tooLarge' : 'unreadable') };
  const client = clientCredentials(req.authorization, body.fields);
  if (client === null) return { ok: false, answer: INVALID_CLIENT };
  const token = body.fields.token;
  if (typeof token !== 'string' || token === '') return { ok: false, answer: oauthError('noToken') };
  // token_type_hint is accepted and not needed: every kind is found by its hash in one lookup,
  // and the stored record, not the hint, says what the token is.
  return { ok: true, token, client };
}

/** What Tessera knows of a token: its live record, or null. JWTs must also verify and not be blacklisted. */
async function liveRecord(token: string, ports: OAuthPorts, policy: OAuthPolicy): Promise<TokenRecord | null> {
  // only a token that was found live (and, for a JWT, verified) is ever remembered
  const remembered = ports.cached?.(token);
  if (remembered !== undefined) return remembered;
  if (UUID_V4.test(token) || HEX128.test(token)) {
    const st = await ports.lookup(token);
    return st.state === 'live' ? st.record : null;
  }
  const claims = await verifySimpleJwt(policy.signer, token, ports.now());
  if (claims === null) return null;
  const [st, blacklisted] = await Promise.all([
    ports.lookup(token),
    claims.token_type === 'refresh' ? ports.isBlacklisted(claims.jti) : false,
  ]);
  return st.state === 'live' && !blacklisted ? st.record : null;
}

async function guard(context: string, ports: OAuthPorts, work: () => Promise<HttpAnswer>): Promise<HttpAnswer> {
  try {
    return await work();
  } catch (err) {
    if (isUnavailable(err)) return UNAVAILABLE;
    ports.onError(err, context);
    return SERVER_ERROR;
  }
}

/**
 * The client's verdict and the token's live record, asked together (one trip to Redis for both);
 * for a client `verified` moments ago (ClientCheckCache), only the record.
 */
async function clientAndRecord(
  r: { token: string; client: Credentials },
  ports: OAuthPorts,
  policy: OAuthPolicy,
  verified = ports.clientVerified?.(r.client.id, r.client.secret) === true,
): Promise<{ authenticated: boolean; record: TokenRecord | null }> {
  if (verified) return { authenticated: true, record: await liveRecord(r.token, ports, policy) };
  const [authenticated, record] = await Promise.all([
    ports.authenticateClient(r.client.id, r.client.secret),
    liveRecord(r.token, ports, policy),
  ]);
  return { authenticated, record };
}

/**
 * RFC 7662: `{"active":false}` for anything that is not a live token, the claims otherwise.
 * Answered at once, without a promise, when all it needs is in memory: a client verified moments
 * ago (`OAuthPorts.clientVerified`) and a remembered token (`OAuthPorts.cached`).
 */
export function handleIntrospect(req: RawRequest, ports: OAuthPorts, policy: OAuthPolicy): HttpAnswer | Promise<HttpAnswer> {
  const r = readRequest(req, policy);
  if (!r.ok) return r.answer;
  const verified = ports.clientVerified?.(r.client.id, r.client.secret) === true;
  const remembered = verified ? ports.cached?.(r.token) : undefined;
  if (remembered !== undefined) return activeAnswer(remembered, ports.now(), true);
  return guard('introspect', ports, async () => {
    const { authenticated, record } = await clientAndRecord(r, ports, policy, verified);
    if (!authenticated) return INVALID_CLIENT;
    return record === null ? INACTIVE : activeAnswer(record, ports.now(), false);
  });
}

/**
 * Answers of records served from the token memory: the same record object gets the same answer
 * object. A record read from Redis is not kept here (`keep` false): most are never asked for
 * again, and every entry of a WeakMap is work for each garbage collection while its key lives.
 */
const answers = new WeakMap<TokenRecord, HttpAnswer>();

function activeAnswer(record: TokenRecord, now: number, keep: boolean): HttpAnswer {
  if (record.exp * 1000 <= now) return INACTIVE;
  const known = keep ? answers.get(record) : undefined;
  if (known !== undefined) return known;
  const body: Record<string, unknown> = {
    active: true,
    scope: record.scopes.filter((s) => s !== '').join(' '),
    client_id: record.dialect,
    username: record.username,
    // a sliding token is the bearer credential (SimpleJWT's AUTH_TOKEN_CLASSES take it as such)
    token_type: record.kind === 'refresh' ? 'refresh_token' : 'access_token',
    exp: record.exp,
    iat: record.iat,
    sub: String(record.userId),
  };
  if (record.jti !== undefined) body.jti = record.jti;
  const answer = json(200, body);
  if (keep) answers.set(record, answer);
  return answer;
}

/**
 * RFC 7009: 200 whether or not the token was valid. The hint only orders the search; a refresh
 * token takes its whole login family with it, and so does a sliding token (its own refresh: every
 * token slid from the same login goes).
 */
export function handleRevoke(req: RawRequest, ports: OAuthPorts, policy: OAuthPolicy): Promise<HttpAnswer> {
  return guard('revoke', ports, async () => {
    const r = readRequest(req, policy);
    if (!r.ok) return r.answer;
    const { authenticated, record } = await clientAndRecord(r, ports, policy);
    if (!authenticated) return INVALID_CLIENT;
    if (record !== null) {
      if (record.kind === 'refresh') {
        if (record.jti !== undefined) await ports.blacklist(r.token, record.jti, record.exp * 1000);
        await ports.revokeFamily(record.userId, record.family);
      } else if (record.kind === 'sliding') {
        await ports.revokeFamily(record.userId, record.family);
      } else {
        await ports.revokeToken(r.token);
      }
    }
    // RFC 7009 §2.2: the body is empty, so no content type
    return { status: 200, headers: { 'cache-control': 'no-store', pragma: 'no-cache' }, body: '' };
  });
}

/** The metrics outcome of an /oauth answer: `active`, `inactive`, `revoked`, or `status_<code>`. */
function outcomeOf(success: string, answer: HttpAnswer): Answered {
  if (answer.status !== 200) return { answer, outcome: `status_${answer.status}` };
  return { answer, outcome: answer.body === INACTIVE.body ? 'inactive' : success };
}

/** The RFC 7662 and RFC 7009 routes. */
export function oauthRoutes(ports: OAuthPorts, policy: OAuthPolicy): Route[] {
  const introspected = (answer: HttpAnswer) => outcomeOf('active', answer);
  return [
    {
      path: '/oauth/introspect',
      api: 'oauth',
      handle(req) {
        const answer = handleIntrospect(req, ports, policy);
        return answer instanceof Promise ? answer.then(introspected) : introspected(answer);
      },
    },
    { path: '/oauth/revoke', api: 'oauth', handle: async (req) => outcomeOf('revoked', await handleRevoke(req, ports, policy)) },
  ];
}
