import type { Dialect } from './dialects/dialect.ts';
import { moh } from './dialects/moh.ts';
import { nehr } from './dialects/nehr.ts';
import { createPeb, type PebOptions } from './dialects/peb.ts';
import { simplejwt, simplejwtSliding } from './dialects/simplejwt.ts';
import { decideTokenAction, type TokenPolicy, type TokenPorts } from './lifecycle.ts';
import { decideLogin, type LoginPolicy, type LoginPorts } from './login.ts';
import type { Outcome, TokenAction } from './outcome.ts';
import type { HttpAnswer, RawRequest } from './types.ts';

/** An answer, and what happened (the `outcome` label of metrics and the request log). */
export interface Answered {
  readonly answer: HttpAnswer;
  readonly outcome: string;
}

/**
 * One entry of the ingress's route table: a path and what answers it, at once (no promise) when
 * it needs nothing outside memory.
 */
export interface Route {
  readonly path: string;
  /** Names the route's API in metrics and the request log; routes without one (probes) are not logged. */
  readonly api?: string;
  handle(req: RawRequest): Answered | Promise<Answered>;
}

export type RouteAction = 'login' | TokenAction;

/** Where a dialect is spoken: a path, its dialect and what the path does. */
export interface DialectRoute {
  readonly path: string;
  readonly dialect: Dialect;
  readonly action: RouteAction;
}

export interface RouteOptions {
  /** Prefix of the `moh` routes (document 000's `{baseurl}`), '' or '/something'. */
  readonly mohBase: string;
  readonly peb: PebOptions;
}

/** Every path a dialect is spoken on. */
export function routeTable(options: RouteOptions): DialectRoute[] {
  const peb = createPeb(options.peb);
  // SimpleJWT's paths, each with and without the slash
  const both = (path: string, action: RouteAction, dialect: Dialect = simplejwt): DialectRoute[] => [
    { path, dialect, action },
    { path: `${path}/`, dialect, action },
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
    ...both('/api/token/sliding', 'login', simplejwtSliding),
    ...both('/api/token/sliding/refresh', 'refresh', simplejwtSliding),
    { path: '/v1/login', dialect: peb, action: 'login' },
    { path: '/v1/login/renew', dialect: peb, action: 'refresh' },
    { path: '/v1/login/check', dialect: peb, action: 'check' },
  ];
}

/** What the dialect routes are wired to: the login's and the token operations' ports and policy. */
export interface DialectWiring {
  readonly login: { readonly ports: LoginPorts; readonly policy: LoginPolicy };
  readonly token: { readonly ports: TokenPorts; readonly policy: TokenPolicy };
  /** Told of an error nothing below caught (the answer is the dialect's internal error). */
  onError(err: unknown, path: string): void;
}

/**
 * The route of one dialect path: OPTIONS where the dialect describes itself, otherwise the outcome
 * `decide` gives rendered in the dialect.
 */
export function dialectRoute(
  { path, dialect, action }: DialectRoute,
  decide: (req: RawRequest) => Promise<Outcome>,
  onError: DialectWiring['onError'],
): Route {
  return {
    path,
    api: dialect.name,
    async handle(req) {
      if (req.method === 'OPTIONS' && dialect.options !== undefined) return { answer: dialect.options(action), outcome: 'options' };
      let outcome: Outcome;
      try {
        outcome = await decide(req);
      } catch (err) {
        onError(err, path);
        outcome = { kind: 'internal_error' };
      }
      return { answer: dialect.render(outcome), outcome: outcome.kind };
    },
  };
}

/** Every dialect path's route: a login, or the dialect's token operation. */
export function dialectRoutes(options: RouteOptions, { login, token, onError }: DialectWiring): Route[] {
  return routeTable(options).map((r) => {
    const { dialect, action } = r;
    const decide =
      action === 'login'
        ? (req: RawRequest) => decideLogin(dialect, req, login.ports, login.policy)
        : (req: RawRequest) => decideTokenAction(dialect, action, req, token.ports, token.policy);
    return dialectRoute(r, decide, onError);
  });
}
