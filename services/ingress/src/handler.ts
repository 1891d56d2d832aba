import type { Settings } from '@tessera/config';
import {
  type HttpAnswer,
  handleIntrospect,
  handleLogin,
  handleRevoke,
  handleTokenAction,
  type RawRequest,
  routeIndex,
  routeTable,
} from '@tessera/core';
import { type Deps, loginPolicy, loginPorts, oauthPolicy, oauthPorts, tokenPolicy, tokenPorts } from './ports.ts';

/** Everything the runtime adapters share: one function from a plain request to a plain answer. */
export type Handler = (req: RawRequest) => Promise<HttpAnswer>;

export interface HandlerDeps extends Deps {
  /** Resolves when Redis answers (readiness). */
  ping(): Promise<unknown>;
}

const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' } as const;

const json = (status: number, body: string): HttpAnswer => ({ status, headers: JSON_HEADERS, body });

export const NOT_FOUND = json(404, '{"error":"not_found","message":"No such route."}');
export const INTERNAL_ERROR = json(500, '{"error":"internal_error","message":"Internal server error."}');

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
  return async (req) => {
    const route = routes.get(req.path);
    if (route !== undefined) {
      try {
        if (route.action === 'login') return await handleLogin(route.dialect, req, ports, policy);
        return await handleTokenAction(route.dialect, route.action, req, tPorts, tPolicy);
      } catch (err) {
        deps.log.error('request failed', { path: req.path, err });
        return route.dialect.render({ kind: 'internal_error' });
      }
    }
    if (req.path === '/oauth/introspect') return handleIntrospect(req, oPorts, oPolicy);
    if (req.path === '/oauth/revoke') return handleRevoke(req, oPorts, oPolicy);
    if (req.path === '/healthz') return json(200, '{"status":"ok"}');
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
}
