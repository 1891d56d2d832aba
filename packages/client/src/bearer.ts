import type { Introspection, Introspector } from './introspector.ts';
import type { OfflineVerifier } from './offline.ts';

export interface BearerOptions {
  /** Space-separated scopes every accepted token must carry. */
  readonly requiredScope?: string;
  /** Accept refresh tokens as bearer tokens (default false: access tokens only). */
  readonly allowRefreshTokens?: boolean;
  /** Realm in the WWW-Authenticate challenge (default "api"). */
  readonly realm?: string;
  /**
   * Checks SimpleJWT tokens locally first (`createOfflineVerifier`): what it refuses is refused,
   * what it accepts is accepted without asking Tessera (unless `requiredScope` is set: scopes are
   * not in the token), and the rest (opaque and HS* tokens, the push down, …) is introspected.
   */
  readonly offline?: OfflineVerifier;
}

export type BearerResult =
  | { readonly ok: true; readonly token: Introspection }
  | { readonly ok: false; readonly status: 401 | 403 | 503; readonly headers: Readonly<Record<string, string>>; readonly body: string };

function challenge(realm: string, status: 401 | 403, error: string, description: string): BearerResult {
  const header = error === '' ? `Bearer realm="${realm}"` : `Bearer realm="${realm}", error="${error}", error_description="${description}"`;
  return {
    ok: false,
    status,
    headers: { 'www-authenticate': header, 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: JSON.stringify(
      error === '' ? { error: 'unauthorized', error_description: description } : { error, error_description: description },
    ),
  };
}

const refused = (realm: string) => challenge(realm, 401, 'invalid_token', 'The token is invalid, expired or revoked.');

/**
 * The runtime-free core of every middleware (RFC 6750): reads `Authorization: Bearer <token>`,
 * checks it offline and/or introspects it, checks kind and scope. Use it directly on Deno or any fetch-style server.
 */
export function bearerAuthenticator(introspector: Introspector, options: BearerOptions = {}) {
  const realm = options.realm ?? 'api';
  const required = (options.requiredScope ?? '').split(' ').filter((s) => s !== '');
  return async (authorization: string | null | undefined): Promise<BearerResult> => {
    const m = /^Bearer\s+([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(authorization ?? '');
    if (m === null) return challenge(realm, 401, authorization ? 'invalid_request' : '', 'A bearer token is required.');
    const value = m[1] as string;
    let token: Introspection | undefined;
    if (options.offline !== undefined) {
      const checked = await options.offline.verify(value);
      if (checked.verdict === 'inactive') return refused(realm);
      if (checked.verdict === 'active' && required.length === 0) token = checked.token;
    }
    try {
      token ??= await introspector.introspect(value);
    } catch {
      return {
        ok: false,
        status: 503,
        headers: { 'content-type': 'application/json', 'retry-after': '1' },
        body: '{"error":"temporarily_unavailable"}',
      };
    }
    if (!token.active || (token.token_type === 'refresh_token' && options.allowRefreshTokens !== true)) return refused(realm);
    const have = new Set((token.scope ?? '').split(' '));
    if (required.some((s) => !have.has(s)))
      return challenge(realm, 403, 'insufficient_scope', `The token lacks scope: ${options.requiredScope}.`);
    return { ok: true, token };
  };
}

/** Minimal shapes of hyper-express's request and response (no dependency on hyper-express). */
export interface HyperExpressLikeRequest {
  readonly headers: Record<string, string | undefined>;
  locals: Record<string, unknown>;
}
export interface HyperExpressLikeResponse {
  status(code: number): HyperExpressLikeResponse;
  header(name: string, value: string): HyperExpressLikeResponse;
  send(body: string): unknown;
}

/** hyper-express middleware: `server.use(hyperExpressBearer(introspector))`; the token lands in `req.locals.token`. */
export function hyperExpressBearer(introspector: Introspector, options: BearerOptions = {}) {
  const authenticate = bearerAuthenticator(introspector, options);
  return async (req: HyperExpressLikeRequest, res: HyperExpressLikeResponse, next: (err?: Error) => void): Promise<void> => {
    const result = await authenticate(req.headers.authorization);
    if (result.ok) {
      req.locals.token = result.token;
      next();
      return;
    }
    res.status(result.status);
    for (const [k, v] of Object.entries(result.headers)) res.header(k, v);
    res.send(result.body);
  };
}

/** Minimal shapes of node:http's request and response. */
export interface NodeLikeRequest {
  readonly headers: Record<string, string | string[] | undefined>;
}
export interface NodeLikeResponse {
  writeHead(status: number, headers: Record<string, string>): unknown;
  end(body?: string): unknown;
}

/**
 * node:http wrapper: `createServer(nodeHttpBearer(introspector, (req, res, token) => ...))`.
 * The handler runs only for requests with a live access token.
 */
export function nodeHttpBearer<Req extends NodeLikeRequest, Res extends NodeLikeResponse>(
  introspector: Introspector,
  handler: (req: Req, res: Res, token: Introspection) => unknown,
  options: BearerOptions = {},
) {
  const authenticate = bearerAuthenticator(introspector, options);
  return async (req: Req, res: Res): Promise<void> => {
    const header = req.headers.authorization;
    const result = await authenticate(Array.isArray(header) ? header[0] : header);
    if (!result.ok) {
      res.writeHead(result.status, { ...result.headers });
      res.end(result.body);
      return;
    }
    await handler(req, res, result.token);
  };
}
