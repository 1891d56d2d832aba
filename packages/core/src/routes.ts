import type { Dialect } from './dialects/dialect.ts';
import { moh } from './dialects/moh.ts';
import { nehr } from './dialects/nehr.ts';
import { createPeb, type PebOptions } from './dialects/peb.ts';
import { simplejwt } from './dialects/simplejwt.ts';

import type { Outcome, TokenAction } from './outcome.ts';
import type { HttpAnswer, RawRequest } from './types.ts';

export type RouteAction = 'login' | TokenAction;

export interface Route {
  readonly path: string;
  readonly dialect: Dialect;
  readonly action: RouteAction;
}

export interface RouteOptions {
  /** Prefix of the `moh` routes (document 000's `{baseurl}`), '' or '/something'. */
  readonly mohBase: string;
  readonly peb: PebOptions;
}

/** Every token route Tessera serves. The runtime adapters register exactly these. */
export function routeTable(options: RouteOptions): Route[] {
  const peb = createPeb(options.peb);
  const both = (path: string, action: RouteAction): Route[] => [
    { path, dialect: simplejwt, action },
    { path: `${path}/`, dialect: simplejwt, action },
  ];
  return [
    { path: `${options.mohBase}/getUserToken`, dialect: moh, action: 'login' },
    { path: `${options.mohBase}/refreshUserToken`, dialect: moh, action: 'refresh' },
    { path: '/nehrapi/login/getToken', dialect: nehr, action: 'login' },
    { path: '/nehrapi/login/refreshToken', dialect: nehr, action: 'refresh' },
    ...both('/api/token', 'login'),
    ...both('/api/token/refresh', 'refresh'),
    ...both('/api/token/verify', 'verify'),
    ...both('/api/token/blacklist', 'blacklist'),
    { path: '/v1/login', dialect: peb, action: 'login' },
    { path: '/v1/login/renew', dialect: peb, action: 'refresh' },
    { path: '/v1/login/check', dialect: peb, action: 'check' },
  ];
}

/** A map from path to route, for adapters that dispatch by exact path. */
export function routeIndex(routes: readonly Route[]): ReadonlyMap<string, Route> {
  return new Map(routes.map((r) => [r.path, r]));
}

/**
 * Answers one request of a token route: OPTIONS where the dialect describes itself, otherwise the
 * decided outcome rendered in the dialect. `outcome` names what happened (for metrics and logs).
 */
export async function answerRoute(
  dialect: Dialect,
  action: RouteAction,
  req: RawRequest,
  decide: () => Promise<Outcome>,
): Promise<{ answer: HttpAnswer; outcome: string }> {
  if (req.method === 'OPTIONS' && dialect.options !== undefined) return { answer: dialect.options(action), outcome: 'options' };
  const outcome = await decide();
  return { answer: dialect.render(outcome), outcome: outcome.kind };
}
