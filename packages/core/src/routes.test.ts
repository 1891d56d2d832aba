import { describe, expect, it } from 'vitest';
import { routeIndex, routeTable } from './routes.ts';

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
    const plain = routeIndex(routeTable({ mohBase: '', peb: { mirrorStatus: false } })).get('/v1/login');
    const mirrored = routeIndex(routeTable({ mohBase: '', peb: { mirrorStatus: true } })).get('/v1/login');
    expect(plain?.dialect.render({ kind: 'bad_credentials' }).status).toBe(200);
    expect(mirrored?.dialect.render({ kind: 'bad_credentials' }).status).toBe(401);
  });
});

describe('routeIndex', () => {
  it('finds routes by exact path only', () => {
    const index = routeIndex(routeTable({ mohBase: '', peb: { mirrorStatus: false } }));
    expect(index.size).toBe(15);
    expect(index.get('/api/token/')?.dialect.name).toBe('simplejwt');
    expect(index.get('/nehrapi/login/getToken')?.dialect.name).toBe('nehr');
    expect(index.get('/v1/login/')).toBeUndefined();
    expect(index.get('/GETUSERTOKEN')).toBeUndefined();
  });
});
