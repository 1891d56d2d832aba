import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Server as NetServer } from 'node:net';
import type { Settings } from '@tessera/config';
import { trustedProxies } from '@tessera/core';
import type { TesseraRedis } from '@tessera/store';
import { MAX_HEADER_BYTES, MAX_HEADER_LINES } from './adapter/framing.ts';
import { readRequest, refusal, refuse, writeAnswer } from './adapter/node-http.ts';
import { createHandler, INTERNAL_ERROR } from './handler.ts';
import { createIngressMetrics } from './metrics.ts';
import type { Deps } from './ports.ts';
import { type MetricsSource, ownMetrics } from './process-metrics.ts';
import { createStatsFlusher } from './stats.ts';

export interface Ingress {
  readonly port: number;
  close(): Promise<void>;
}

/** Which of the ingress's processes this is, and where its /metrics gets the figures of all of them. */
export interface ServerOptions {
  /** 0: the first of TESSERA_INGRESS_PROCESSES (the default); the `process` label of its process metrics. */
  readonly process?: number;
  /** Default: this process's own figures (one process). main.ts: every process's (process-metrics.ts). */
  readonly metrics?: MetricsSource;
}

/**
 * The Node edge: node:http (its strict llhttp parser, pipelining answered in order) in front of
 * the shared handler. The body limit is enforced by the handler, per route, so an oversized body
 * is answered in the route's dialect.
 */
export function createServer(settings: Settings, deps: Deps & { readonly redis: TesseraRedis }, options: ServerOptions = {}): Server {
  const server = createHttpServer({
    maxHeaderSize: MAX_HEADER_BYTES,
    // explicit: never the lenient parser, whatever --insecure-http-parser says
    insecureHTTPParser: false,
    requireHostHeader: true,
    // a request's head within 10 s, the whole request within 30 s (slow clients hold no connection)
    headersTimeout: 10_000,
    requestTimeout: 30_000,
    connectionsCheckingInterval: 1000,
  });
  // one more than allowed, so that a request with too many is told apart (refusal)
  server.maxHeadersCount = MAX_HEADER_LINES + 1;
  const metrics = createIngressMetrics(deps.pool, options.process ?? 0);
  deps.pool.onWait = (seconds, admitted) => metrics.argon2Wait(seconds, admitted);
  const stats = createStatsFlusher(deps.redis, settings.redisPrefix);
  const observer = {
    request(route: string, dialect: string, outcome: string, status: number, seconds: number) {
      metrics.request(route, dialect, outcome, status, seconds);
      if (route === '/oauth/introspect') stats.count('introspect');
    },
  };
  const handle = createHandler(settings, {
    ...deps,
    ping: () => deps.redis.ping(),
    observer,
    metrics: (options.metrics ?? ownMetrics)(metrics.registry),
  });
  const proxies = trustedProxies(settings.proxies);
  const fail = (res: ServerResponse, close: boolean) => (err: unknown) => {
    // Nothing thrown here may escape: not out of a stream callback, not as an unhandled rejection.
    deps.log.error('unhandled error', { err });
    try {
      writeAnswer(res, INTERNAL_ERROR, close);
    } catch {
      // the client is gone
    }
  };
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const refused = refusal(req);
    if (refused !== 0) return refuse(req, res, refused);
    readRequest(req, settings.bodyLimit, proxies, (raw) => {
      const close = raw.body === null;
      try {
        const answer = handle(raw);
        if (answer instanceof Promise) answer.then((a) => writeAnswer(res, a, close)).catch(fail(res, close));
        else writeAnswer(res, answer, close);
      } catch (err) {
        fail(res, close)(err);
      }
    });
  };
  server.on('request', onRequest);
  // An Expect other than 100-continue: node:http would answer 417 outside any route's dialect;
  // RFC 9110 lets a server ignore it, and the route answers as for any other request.
  server.on('checkExpectation', onRequest);
  return server;
}

/**
 * Starts listening; resolves with the bound port (useful with port 0). `port` may instead be a
 * listening socket another process sent (the siblings of TESSERA_INGRESS_PROCESSES share one).
 */
export async function listen(server: Server, port: number | NetServer, host?: string): Promise<Ingress> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const listening = () => {
      server.off('error', reject);
      resolve();
    };
    if (typeof port === 'number') server.listen(port, host, listening);
    else server.listen(port, listening);
  });
  return {
    port: (server.address() as AddressInfo).port,
    // answers under way get a second to be written; idle keep-alive connections close at once
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 1000).unref();
      }),
  };
}
