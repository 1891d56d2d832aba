import { describe, expect, it } from 'vitest';
import { routeIndex, routeTable } from './routes.ts';

describe('routeTable', () => {
  it('lists every login route with its dialect', () => {
    const routes = routeTable({ mohBase: '', peb: { mirrorStatus: false } });
    expect(routes.map((r) => [r.path, r.dialect.name, r.action])).toStrictEqual([
      ['/getUserToken', 'moh', 'login'],
      ['/nehrapi/login/getToken', 'nehr', 'login'],
      ['/api/token', 'simplejwt', 'login'],
      ['/api/token/', 'simplejwt', 'login'],
      ['/v1/login', 'peb', 'login'],
    ]);
  });

  it('prefixes the moh route with the configured base', () => {
    const routes = routeTable({ mohBase: '/moh/api', peb: { mirrorStatus: false } });
    expect(routes[0]?.path).toBe('/moh/api/getUserToken');
    expect(routes.filter((r) => r.dialect.name === 'moh')).toHaveLength(1);
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
    expect(index.size).toBe(5);
    expect(index.get('/api/token/')?.dialect.name).toBe('simplejwt');
    expect(index.get('/nehrapi/login/getToken')?.dialect.name).toBe('nehr');
    expect(index.get('/v1/login/')).toBeUndefined();
    expect(index.get('/GETUSERTOKEN')).toBeUndefined();
  });
});
