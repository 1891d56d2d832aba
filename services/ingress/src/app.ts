import type { Settings } from '@tessera/config';
import { trustedProxies } from '@tessera/core';
import type { TesseraRedis } from '@tessera/store';
import HyperExpress from 'hyper-express';
import { readRequest, writeAnswer } from './adapter/hyper-express.ts';
import { createHandler, INTERNAL_ERROR } from './handler.ts';
import { createIngressMetrics } from './metrics.ts';
import type { Deps } from './ports.ts';
import { createStatsFlusher } from './stats.ts';

export interface Ingress {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The Node edge: hyper-express (uWebSockets.js) in front of the shared handler. The body limit is
 * enforced by the handler, per route, so an oversized body is answered in the route's dialect;
 * hyper-express's own limit is set far above it and never answers.
 */
export function createServer(settings: Settings, deps: Deps & { readonly redis: TesseraRedis }): HyperExpress.Server {
  const server = new HyperExpress.Server({ max_body_length: Number.MAX_SAFE_INTEGER, trust_proxy: false });
  const metrics = createIngressMetrics(deps.pool);
  deps.pool.onWait = (seconds, admitted) => metrics.argon2Wait(seconds, admitted);
  const stats = createStatsFlusher(deps.redis, settings.redisPrefix);
  const observer = {
    request(route: string, dialect: string, outcome: string, status: number, seconds: number) {
      metrics.request(route, dialect, outcome, status, seconds);
      if (route === '/oauth/introspect') stats.count('introspect');
    },
  };
  const handle = createHandler(settings, { ...deps, ping: () => deps.redis.ping(), observer });
  const proxies = trustedProxies(settings.proxies);
  server.get('/metrics', async (_req, res) => {
    res.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  server.any('/*', (req, res) => {
    readRequest(req, res, settings.bodyLimit, proxies, (raw) => {
      const close = raw.body === null;
      // Nothing thrown here may escape: not into uWS's onData callback, not as an unhandled rejection.
      const fail = (err: unknown) => {
        deps.log.error('unhandled error', { err });
        try {
          writeAnswer(res, INTERNAL_ERROR, close);
        } catch {
          // the client is gone
        }
      };
      try {
        const answer = handle(raw);
        if (answer instanceof Promise) answer.then((a) => writeAnswer(res, a, close)).catch(fail);
        else writeAnswer(res, answer, close);
      } catch (err) {
        fail(err);
      }
    });
  });
  server.set_error_handler((_req, res, err) => {
    deps.log.error('unhandled error', { err });
    writeAnswer(res, INTERNAL_ERROR);
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
