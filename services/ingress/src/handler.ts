import type { Settings } from '@tessera/config';
import {
  answerRoute,
  decideLogin,
  decideTokenAction,
  type HttpAnswer,
  handleIntrospect,
  handleRevoke,
  type RawRequest,
  type Route,
  routeIndex,
  routeTable,
} from '@tessera/core';
import { OPENAPI } from './openapi/index.ts';
import { type Deps, loginPolicy, loginPorts, oauthPolicy, oauthPorts, tokenPolicy, tokenPorts } from './ports.ts';

/** An answer and the request id the adapter sends back as `x-request-id`. */
export interface IngressAnswer extends HttpAnswer {
  readonly requestId: string;
}

/**
 * Everything the runtime adapters share: one function from a plain request to a plain answer,
 * given at once (no promise) when it needs nothing outside memory.
 */
export type Handler = (req: RawRequest) => IngressAnswer | Promise<IngressAnswer>;

/** Told about every answered request (metrics); `outcome` is the handler's, e.g. issued or locked. */
export interface RequestObserver {
  request(route: string, dialect: string, outcome: string, status: number, seconds: number): void;
}

export interface HandlerDeps extends Deps {
  /** Resolves when Redis answers (readiness). */
  ping(): Promise<unknown>;
  readonly observer?: RequestObserver;
}

const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' } as const;

const json = (status: number, body: string): HttpAnswer => ({ status, headers: JSON_HEADERS, body });

/** The API contract, served at GET /openapi.json. */
const OPENAPI_ANSWER: HttpAnswer = {
  status: 200,
  headers: { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' },
  body: JSON.stringify(OPENAPI),
};

export const NOT_FOUND = json(404, '{"error":"not_found","message":"No such route."}');
export const INTERNAL_ERROR = json(500, '{"error":"internal_error","message":"Internal server error."}');

/** The metrics outcome of an /oauth answer. */
function oauthOutcome(path: string, answer: HttpAnswer): string {
  if (answer.status !== 200) return `status_${answer.status}`;
  if (answer.body === '{"active":false}') return 'inactive';
  return path === '/oauth/revoke' ? 'revoked' : 'active';
}

/** Prefix of generated request ids: unique per process start. */
const process_id = crypto.randomUUID().slice(0, 8);

/**
 * The route table of every runtime: token routes from core, health and readiness. Runtime
 * adapters only convert requests in and answers out around this function.
 */
export function createHandler(settings: Settings, deps: HandlerDeps): Handler {
  const ports = loginPorts(deps);
  const policy = loginPolicy(settings);
  const tPorts = tokenPorts(deps);
  const tPolicy = tokenPolicy(settings);
  const oPorts = oauthPorts(deps);
  const oPolicy = oauthPolicy(settings);
  const routes = routeIndex(routeTable({ mohBase: settings.mohBase, peb: { mirrorStatus: settings.pebMirrorStatus } }));
  const decide = async (route: Route, req: RawRequest): Promise<{ answer: HttpAnswer; outcome: string }> => {
    try {
      return await answerRoute(route.dialect, route.action, req, () =>
        route.action === 'login'
          ? decideLogin(route.dialect, req, ports, policy)
          : decideTokenAction(route.dialect, route.action, req, tPorts, tPolicy),
      );
    } catch (err) {
      deps.log.error('request failed', { path: req.path, err });
      return { answer: route.dialect.render({ kind: 'internal_error' }), outcome: 'internal_error' };
    }
  };
  let served = 0;
  const observe = (req: RawRequest, reqId: string, dialect: string, outcome: string, answer: HttpAnswer, started: number) => {
    const seconds = (performance.now() - started) / 1000;
    deps.observer?.request(req.path, dialect, outcome, answer.status, seconds);
    // one line per token-route request: who asked what and how it ended; never a body or a header value
    if (!deps.log.infoEnabled) return;
    deps.log.info('request', {
      reqId,
      method: req.method,
      path: req.path,
      dialect,
      outcome,
      status: answer.status,
      ms: Math.round(seconds * 10_000) / 10,
      ip: req.ip,
    });
  };
  const handle = async (req: RawRequest, reqId: string): Promise<HttpAnswer> => {
    const started = performance.now();
    const route = routes.get(req.path);
    if (route !== undefined) {
      const { answer, outcome } = await decide(route, req);
      observe(req, reqId, route.dialect.name, outcome, answer, started);
      return answer;
    }
    if (req.path === '/oauth/revoke') {
      const answer = await handleRevoke(req, oPorts, oPolicy);
      observe(req, reqId, 'oauth', oauthOutcome(req.path, answer), answer, started);
      return answer;
    }
    if (req.path === '/healthz') return json(200, '{"status":"ok"}');
    if (req.path === '/openapi.json') return OPENAPI_ANSWER;
    if (req.path === '/readyz') {
      try {
        await deps.ping();
        return json(200, '{"status":"ready","redis":"ok"}');
      } catch {
        return json(503, '{"status":"unavailable","redis":"unreachable"}');
      }
    }
    return NOT_FOUND;
  };
  const withId = (answer: HttpAnswer, requestId: string): IngressAnswer => ({
    status: answer.status,
    headers: answer.headers,
    body: answer.body,
    requestId,
  });
  return (req) => {
    // the caller's request id when it is a sane token, else a fresh one; echoed in the answer
    const given = req.requestId ?? '';
    const reqId = given !== '' && /^[A-Za-z0-9._:-]{1,64}$/.test(given) ? given : `${process_id}-${(++served).toString(36)}`;
    if (req.path === '/oauth/introspect') {
      // answered without a promise when the token and the client are in memory
      const started = performance.now();
      const answered = (answer: HttpAnswer) => {
        observe(req, reqId, 'oauth', oauthOutcome(req.path, answer), answer, started);
        return withId(answer, reqId);
      };
      const answer = handleIntrospect(req, oPorts, oPolicy);
      return answer instanceof Promise ? answer.then(answered) : answered(answer);
    }
    return handle(req, reqId).then((answer) => withId(answer, reqId));
  };
}
