import type { Settings } from '@tessera/config';
import { type Answered, dialectRoutes, type HttpAnswer, oauthRoutes, type Route } from '@tessera/core';
import { OPENAPI } from './openapi/index.ts';
import { type Deps, loginPolicy, loginPorts, oauthPolicy, oauthPorts, tokenPolicy, tokenPorts } from './ports.ts';

/** What the routes need beyond the ports: readiness and, on Node, the metrics text. */
export interface RouteDeps extends Deps {
  /** Resolves when Redis answers (readiness). */
  ping(): Promise<unknown>;
  /** The Prometheus exposition of the ingress, all its processes (absent: no /metrics route). */
  readonly metrics?: () => Promise<{ readonly status: number; readonly contentType: string; readonly text: string }>;
}

const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' } as const;

const json = (status: number, body: string): HttpAnswer => ({ status, headers: JSON_HEADERS, body });

export const NOT_FOUND = json(404, '{"error":"not_found","message":"No such route."}');
export const INTERNAL_ERROR = json(500, '{"error":"internal_error","message":"Internal server error."}');

const probe = (answer: HttpAnswer): Answered => ({ answer, outcome: String(answer.status) });

const HEALTHY = probe(json(200, '{"status":"ok"}'));
const READY = probe(json(200, '{"status":"ready","redis":"ok"}'));
const NOT_READY = probe(json(503, '{"status":"unavailable","redis":"unreachable"}'));
/** The API contract, served at GET /openapi.json. */
const OPENAPI_ANSWER = probe({
  status: 200,
  headers: { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' },
  body: JSON.stringify(OPENAPI),
});
const METRICS_NOT_FOUND = probe(NOT_FOUND);

/**
 * Every route of the ingress, in every runtime: the dialects' paths, OAuth introspection and
 * revocation, the probes, the contract and (on Node) the metrics.
 */
export function routes(settings: Settings, deps: RouteDeps): Route[] {
  const { metrics, signer } = deps;
  // caches may keep it TESSERA_JWKS_MAX_AGE_S: a key is published at least that long before it signs
  const jwksHeaders = { 'content-type': 'application/json', 'cache-control': `public, max-age=${settings.jwksMaxAgeS}` };
  const jwks = (): Answered => probe({ status: 200, headers: jwksHeaders, body: JSON.stringify(signer.jwks(Date.now())) });
  const wiring = {
    login: { ports: loginPorts(deps), policy: loginPolicy(settings, deps.signer) },
    token: { ports: tokenPorts(deps), policy: tokenPolicy(settings, deps.signer) },
    onError: (err: unknown, path: string) => deps.log.error('request failed', { path, err }),
  };
  const table: Route[] = [
    ...dialectRoutes({ mohBase: settings.mohBase, peb: { mirrorStatus: settings.pebMirrorStatus } }, wiring),
    ...oauthRoutes(oauthPorts(deps), oauthPolicy(settings, deps.signer)),
    { path: '/healthz', handle: () => HEALTHY },
    {
      path: '/readyz',
      handle: () =>
        deps.ping().then(
          () => READY,
          () => NOT_READY,
        ),
    },
    { path: '/openapi.json', handle: () => OPENAPI_ANSWER },
    { path: '/.well-known/jwks.json', handle: jwks },
    ...(metrics === undefined
      ? []
      : [
          {
            path: '/metrics',
            // GET only: any other method is the JSON 404, as for a path that does not exist
            handle: async (req: { method: string }): Promise<Answered> => {
              if (req.method !== 'GET') return METRICS_NOT_FOUND;
              const { status, contentType, text } = await metrics();
              return probe({ status, headers: { 'content-type': contentType }, body: text });
            },
          },
        ]),
  ];
  if (settings.jwksPath !== '') {
    if (table.some((r) => r.path === settings.jwksPath))
      throw new Error(`TESSERA_JWKS_PATH=${settings.jwksPath} is the path of another route`);
    table.push({ path: settings.jwksPath, handle: jwks });
  }
  return table;
}
