import type { Dialect } from './dialects/dialect.ts';
import { moh } from './dialects/moh.ts';
import { nehr } from './dialects/nehr.ts';
import { createPeb, type PebOptions } from './dialects/peb.ts';
import { simplejwt } from './dialects/simplejwt.ts';

export type RouteAction = 'login';

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
  return [
    { path: `${options.mohBase}/getUserToken`, dialect: moh, action: 'login' },
    { path: '/nehrapi/login/getToken', dialect: nehr, action: 'login' },
    { path: '/api/token', dialect: simplejwt, action: 'login' },
    { path: '/api/token/', dialect: simplejwt, action: 'login' },
    { path: '/v1/login', dialect: peb, action: 'login' },
  ];
}

/** A map from path to route, for adapters that dispatch by exact path. */
export function routeIndex(routes: readonly Route[]): ReadonlyMap<string, Route> {
  return new Map(routes.map((r) => [r.path, r]));
}
