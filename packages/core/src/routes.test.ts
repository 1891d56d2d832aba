import { describe, expect, it } from 'vitest';
import { request } from '../test/fixtures.ts';
import { moh } from './dialects/moh.ts';
import { simplejwt } from './dialects/simplejwt.ts';
import { dialectRoute, routeTable } from './routes.ts';

describe('routeTable', () => {
  it('lists every token route with its dialect and action', () => {
    const routes = routeTable({ mohBase: '', peb: { mirrorStatus: false } });
    expect(routes.map((r) => [r.path, r.dialect.name, r.action])).toStrictEqual([
      ['/getUserToken', 'moh', 'login'],
      ['/refreshUserToken', 'moh', 'refresh'],
      ['/nehrapi/login/getToken', 'nehr', 'login'],
      ['/nehrapi/login/refreshToken', 'nehr', 'refresh'],
      ['/api/token', 'simplejwt', 'login'],
      ['/api/token/', 'simplejwt', 'login'],
      ['/api/token/refresh', 'simplejwt', 'refresh'],
      ['/api/token/refresh/', 'simplejwt', 'refresh'],
      ['/api/token/verify', 'simplejwt', 'verify'],
      ['/api/token/verify/', 'simplejwt', 'verify'],
      ['/api/token/blacklist', 'simplejwt', 'blacklist'],
      ['/api/token/blacklist/', 'simplejwt', 'blacklist'],
      ['/api/token/sliding', 'simplejwt', 'login'],
      ['/api/token/sliding/', 'simplejwt', 'login'],
      ['/api/token/sliding/refresh', 'simplejwt', 'refresh'],
      ['/api/token/sliding/refresh/', 'simplejwt', 'refresh'],
      ['/v1/login', 'peb', 'login'],
      ['/v1/login/renew', 'peb', 'refresh'],
      ['/v1/login/check', 'peb', 'check'],
    ]);
  });

  it('prefixes the moh routes with the configured base', () => {
    const routes = routeTable({ mohBase: '/moh/api', peb: { mirrorStatus: false } });
    expect(routes.filter((r) => r.dialect.name === 'moh').map((r) => r.path)).toStrictEqual([
      '/moh/api/getUserToken',
      '/moh/api/refreshUserToken',
    ]);
  });

  it('builds the PEB dialect with the given status policy', () => {
    const plain = routeTable({ mohBase: '', peb: { mirrorStatus: false } }).find((r) => r.path === '/v1/login');
    const mirrored = routeTable({ mohBase: '', peb: { mirrorStatus: true } }).find((r) => r.path === '/v1/login');
    expect(plain?.dialect.render({ kind: 'bad_credentials' }).status).toBe(200);
    expect(mirrored?.dialect.render({ kind: 'bad_credentials' }).status).toBe(401);
  });
});

describe('dialectRoute', () => {
  it('answers in its dialect what was decided, with the outcome named', async () => {
    const route = dialectRoute(
      { path: '/getUserToken', dialect: moh, action: 'login' },
      async () => ({ kind: 'bad_credentials' }),
      () => {},
    );
    expect(route.api).toBe('moh');
    expect(await route.handle(request())).toStrictEqual({ answer: moh.render({ kind: 'bad_credentials' }), outcome: 'bad_credentials' });
  });

  it("answers OPTIONS with the dialect's description without deciding anything", async () => {
    const route = dialectRoute(
      { path: '/api/token/refresh/', dialect: simplejwt, action: 'refresh' },
      () => {
        throw new Error('decided');
      },
      () => {},
    );
    const options = await route.handle(request({ method: 'OPTIONS', body: null }));
    expect(options).toStrictEqual({ answer: simplejwt.options?.('refresh'), outcome: 'options' });
  });

  it("answers an error nothing caught as the dialect's internal error, and tells of it", async () => {
    const told: unknown[] = [];
    const boom = new Error('boom');
    const route = dialectRoute(
      { path: '/api/token', dialect: simplejwt, action: 'login' },
      () => Promise.reject(boom),
      (err, path) => told.push(err, path),
    );
    const { answer, outcome } = await route.handle(request());
    expect([answer.status, outcome, told]).toStrictEqual([500, 'internal_error', [boom, '/api/token']]);
  });
});
