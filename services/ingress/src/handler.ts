import type { Settings } from '@tessera/config';
import type { Answered, HttpAnswer, RawRequest } from '@tessera/core';
import { NOT_FOUND, type RouteDeps, routes } from './routes.ts';

export { INTERNAL_ERROR, NOT_FOUND } from './routes.ts';

/** An answer and the request id the adapter sends back as `x-request-id`. */
export interface IngressAnswer extends HttpAnswer {
  readonly requestId: string;
}

/**
 * Everything the runtime adapters share: one function from a plain request to a plain answer,
 * given at once (no promise) when it needs nothing outside memory.
 */
export type Handler = (req: RawRequest) => IngressAnswer | Promise<IngressAnswer>;

/** Told about every answered request of an API route (metrics); `outcome` is the route's, e.g. issued or locked. */
export interface RequestObserver {
  request(route: string, api: string, outcome: string, status: number, seconds: number): void;
}

export interface HandlerDeps extends RouteDeps {
  readonly observer?: RequestObserver;
}

/** Prefix of generated request ids: unique per process start. */
const process_id = crypto.randomUUID().slice(0, 8);

/** A caller's request id is echoed when it is a sane token; otherwise one is made. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * Finds the route of a request (routes.ts), names the request and observes its answer: metrics
 * and one log line per API request. Runtime adapters only convert requests in and answers out
 * around this function.
 */
export function createHandler(settings: Settings, deps: HandlerDeps): Handler {
  const table = new Map(routes(settings, deps).map((r) => [r.path, r]));
  let served = 0;
  const observe = (req: RawRequest, reqId: string, api: string, outcome: string, answer: HttpAnswer, started: number) => {
    const seconds = (performance.now() - started) / 1000;
    deps.observer?.request(req.path, api, outcome, answer.status, seconds);
    // one line per API request: who asked what and how it ended; never a body or a header value
    if (!deps.log.infoEnabled) return;
    deps.log.info('request', {
      reqId,
      method: req.method,
      path: req.path,
      dialect: api,
      outcome,
      status: answer.status,
      ms: Math.round(seconds * 10_000) / 10,
      ip: req.ip,
    });
  };
  return (req) => {
    const given = req.requestId ?? '';
    const requestId = given !== '' && SANE_REQUEST_ID.test(given) ? given : `${process_id}-${(++served).toString(36)}`;
    const route = table.get(req.path);
    if (route === undefined) return { ...NOT_FOUND, requestId };
    const started = performance.now();
    const { api } = route;
    const answered = ({ answer, outcome }: Answered): IngressAnswer => {
      if (api !== undefined) observe(req, requestId, api, outcome, answer, started);
      return { status: answer.status, headers: answer.headers, body: answer.body, requestId };
    };
    const handled = route.handle(req);
    return handled instanceof Promise ? handled.then(answered) : answered(handled);
  };
}
