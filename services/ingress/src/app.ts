import type { Settings } from '@tessera/config';
import { handleLogin, type Route, routeTable } from '@tessera/core';
import type { TesseraRedis } from '@tessera/store';
import HyperExpress from 'hyper-express';
import { toRawRequest, writeAnswer } from './adapter/hyper-express.ts';
import { type Deps, loginPolicy, loginPorts } from './ports.ts';

export interface Ingress {
  readonly port: number;
  close(): Promise<void>;
}

const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' };

/**
 * Builds the HTTP edge: every token route of the route table, health and readiness. The body
 * limit is enforced here, per route, so an oversized body is answered in the route's dialect
 * (hyper-express's own limit is set far above it and never answers).
 */
export function createServer(settings: Settings, deps: Deps & { readonly redis: TesseraRedis }): HyperExpress.Server {
  const server = new HyperExpress.Server({ max_body_length: Number.MAX_SAFE_INTEGER, trust_proxy: false });
  const ports = loginPorts(deps);
  const policy = loginPolicy(settings);

  const register = (route: Route) => {
    server.any(route.path, async (req, res) => {
      try {
        const raw = await toRawRequest(req, settings.bodyLimit);
        writeAnswer(res, await handleLogin(route.dialect, raw, ports, policy));
      } catch (err) {
        deps.log.error('request failed', { path: route.path, err });
        writeAnswer(res, route.dialect.render({ kind: 'internal_error' }));
      }
    });
  };
  for (const route of routeTable({ mohBase: settings.mohBase, peb: { mirrorStatus: settings.pebMirrorStatus } })) register(route);

  server.get('/healthz', (_req, res) => {
    writeAnswer(res, { status: 200, headers: JSON_HEADERS, body: '{"status":"ok"}' });
  });
  server.get('/readyz', async (_req, res) => {
    try {
      await deps.redis.ping();
      writeAnswer(res, { status: 200, headers: JSON_HEADERS, body: '{"status":"ready","redis":"ok"}' });
    } catch {
      writeAnswer(res, { status: 503, headers: JSON_HEADERS, body: '{"status":"unavailable","redis":"unreachable"}' });
    }
  });
  server.set_not_found_handler((_req, res) => {
    writeAnswer(res, { status: 404, headers: JSON_HEADERS, body: '{"error":"not_found","message":"No such route."}' });
  });
  server.set_error_handler((_req, res, err) => {
    deps.log.error('unhandled error', { err });
    writeAnswer(res, { status: 500, headers: JSON_HEADERS, body: '{"error":"internal_error","message":"Internal server error."}' });
  });
  return server;
}

/** Starts listening; resolves with the bound port (useful with port 0). */
export async function listen(server: HyperExpress.Server, port: number, host: string): Promise<Ingress> {
  await server.listen(port, host);
  return {
    port: server.port,
    close: async () => {
      server.close();
    },
  };
}
