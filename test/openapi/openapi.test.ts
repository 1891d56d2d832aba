import {
  MOH_CODES,
  MOH_WHEN,
  NEHR_MESSAGES,
  OAUTH_ERRORS,
  PEB_ERRORS,
  routeTable,
  SIMPLEJWT_MESSAGES,
  SIMPLEJWT_VIEWS,
} from '@tessera/core';
import { HTTP_METHODS, OPENAPI } from '@tessera/ingress';
import Ajv2020 from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { validateResponse } from '../support/openapi.ts';

/** Every `$ref` in the document, with where it sits. */
function refs(value: unknown, at = '#'): [string, string][] {
  if (Array.isArray(value)) return value.flatMap((v, i) => refs(v, `${at}/${i}`));
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([k, v]) =>
    k === '$ref' && typeof v === 'string' ? [[at, v] as [string, string]] : refs(v, `${at}/${k}`),
  );
}

function resolve(ref: string): unknown {
  let at: unknown = OPENAPI;
  for (const part of ref.slice(2).split('/')) {
    if (typeof at !== 'object' || at === null) return undefined;
    at = (at as Record<string, unknown>)[part.replaceAll('~1', '/').replaceAll('~0', '~')];
  }
  return at;
}

const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store', pragma: 'no-cache' };
const headers = (extra: Record<string, string> = {}) => new Headers({ ...JSON_HEADERS, ...extra });
/** DRF's headers, on every answer of a simplejwt view. */
const DRF = { allow: 'POST, OPTIONS', vary: 'Accept' };
const drf = (extra: Record<string, string> = {}) => headers({ ...DRF, ...extra });
const ENVELOPE_OK = {
  version: 'v2',
  code: 0,
  message: '1 Records found',
  result: {
    access_token: 'd0816a77-af67-43fc-bad1-2edb2aae3dc5',
    token_type: 'bearer',
    refresh_token: '542f00d0-4be3-4b47-940a-62e354b9c3e7',
    expires_in: 86399,
    scope: ['', 'read', 'write'],
    firstLogin: null,
    loggedInUser: null,
    userDetails: null,
    persCode: '-90008',
    userIntitutes: [],
    civilId: null,
    userMobile: null,
  },
};

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1.0 and JSON as it stands', () => {
    expect(OPENAPI.openapi).toBe('3.1.0');
    expect(JSON.parse(JSON.stringify(OPENAPI))).toStrictEqual(OPENAPI);
    expect(OPENAPI.info.title).toBe('Tessera');
  });

  it('resolves every $ref, and only into components', () => {
    const all = refs(OPENAPI);
    expect(all.length).toBeGreaterThan(100);
    const broken = all.filter(([, ref]) => !ref.startsWith('#/components/') || resolve(ref) === undefined);
    expect(broken).toStrictEqual([]);
  });

  it('holds only valid JSON Schema 2020-12 (Ajv, unknown keywords refused), in every schema position', () => {
    // Component refs rewritten to $defs, so each schema compiles on its own under strict keyword checks.
    const text = JSON.stringify(OPENAPI).replaceAll('"#/components/schemas/', '"urn:tessera:check#/$defs/');
    const doc = JSON.parse(text) as typeof OPENAPI;
    const ajv = new Ajv2020.default({ strictSchema: true, strictTypes: false, strictRequired: false, validateFormats: false });
    ajv.addSchema({ $id: 'urn:tessera:check', $defs: doc.components.schemas });
    for (const name of Object.keys(doc.components.schemas))
      expect(() => ajv.compile({ $ref: `urn:tessera:check#/$defs/${name}` }), name).not.toThrow();
    const positions: [string, unknown][] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const m of HTTP_METHODS) {
        const op = item[m];
        const body = op?.requestBody;
        for (const [type, media] of Object.entries(body === undefined || '$ref' in body ? {} : body.content))
          positions.push([`${m} ${path} request ${type}`, media.schema]);
        for (const [status, res] of Object.entries(op?.responses ?? {})) {
          if ('$ref' in res) continue;
          for (const [type, media] of Object.entries(res.content ?? {})) positions.push([`${m} ${path} ${status} ${type}`, media.schema]);
          for (const [name, h] of Object.entries(res.headers ?? {}))
            if (!('$ref' in h)) positions.push([`${m} ${path} ${status} ${name}`, h.schema]);
        }
      }
    }
    for (const h of Object.values(doc.components.headers)) positions.push(['header', h.schema]);
    for (const [name, body] of Object.entries(doc.components.requestBodies)) {
      for (const media of Object.values(body.content)) positions.push([`request body ${name}`, media.schema]);
    }
    for (const [name, res] of Object.entries(doc.components.responses)) {
      for (const media of Object.values(res.content ?? {})) positions.push([`response ${name}`, media.schema]);
    }
    expect(positions.length).toBeGreaterThan(100);
    for (const [where, schema] of positions) expect(() => ajv.compile(schema as object), where).not.toThrow();
  });

  it('uses only declared tags, and every media type and header has a schema', () => {
    const tags = new Set(OPENAPI.tags.map((t) => t.name));
    for (const [path, item] of Object.entries(OPENAPI.paths)) {
      expect(path).toMatch(/^\/[a-zA-Z0-9/._-]*$/);
      for (const m of HTTP_METHODS) {
        const op = item[m];
        if (op === undefined) continue;
        for (const t of op.tags) expect(tags.has(t), `${m} ${path} tag ${t}`).toBe(true);
        for (const res of Object.values(op.responses)) {
          if ('$ref' in res) continue;
          for (const media of Object.values(res.content ?? {})) expect(media.schema).toBeTypeOf('object');
          for (const h of Object.values(res.headers ?? {})) expect('$ref' in h || h.schema !== undefined).toBe(true);
        }
      }
    }
  });

  it('lists every route of the route table and the oauth, health, metrics and document routes', () => {
    const paths = Object.keys(OPENAPI.paths).sort();
    const table = routeTable({ mohBase: '', peb: { mirrorStatus: false } }).map((r) => r.path);
    const others = ['/oauth/introspect', '/oauth/revoke', '/healthz', '/readyz', '/metrics', '/openapi.json', '/.well-known/jwks.json'];
    expect(paths).toStrictEqual([...table, ...others].sort());
    expect(table).toHaveLength(19);
  });

  it('has operations with unique ids and responses; every token route documents POST and the refusal of other methods', () => {
    const ids: string[] = [];
    for (const [path, item] of Object.entries(OPENAPI.paths)) {
      for (const m of HTTP_METHODS) {
        const op = item[m];
        if (op === undefined) continue;
        ids.push(op.operationId);
        expect(Object.keys(op.responses).length, `${m} ${path}`).toBeGreaterThan(0);
        for (const [status, res] of Object.entries(op.responses)) {
          expect(status, `${m} ${path}`).toMatch(/^[1-5]\d\d$/);
          expect('$ref' in res || res.description.length > 0, `${m} ${path} ${status}`).toBe(true);
        }
      }
    }
    expect(new Set(ids).size).toBe(ids.length);
    for (const r of routeTable({ mohBase: '', peb: { mirrorStatus: false } })) {
      const item = OPENAPI.paths[r.path];
      const body = item?.post?.requestBody;
      const content = body === undefined ? undefined : '$ref' in body ? (resolve(body.$ref) as { content?: object }).content : body.content;
      expect(Object.keys(content ?? {}), r.path).toStrictEqual([
        'application/json',
        'application/x-www-form-urlencoded',
        'multipart/form-data',
      ]);
      for (const m of ['get', 'put', 'patch', 'delete', 'options', 'head'] as const) expect(item?.[m], `${m} ${r.path}`).toBeDefined();
    }
  });

  it('documents the fixed headers: no-store everywhere, Allow on 405, Retry-After on 429, WWW-Authenticate on 401', () => {
    for (const [path, item] of Object.entries(OPENAPI.paths)) {
      for (const m of HTTP_METHODS) {
        for (const [status, res] of Object.entries(item[m]?.responses ?? {})) {
          if ('$ref' in res || path === '/metrics' || path === '/openapi.json') continue;
          const names = Object.keys(res.headers ?? {});
          expect(names, `${m} ${path} ${status}`).toContain('Cache-Control');
          if (status === '405') expect(names, `${m} ${path} ${status}`).toContain('Allow');
          if (status === '429') expect(names, `${m} ${path} ${status}`).toContain('Retry-After');
          if (status === '401' && !path.startsWith('/nehrapi') && !path.startsWith('/v1/')) {
            expect(names, `${m} ${path} ${status}`).toContain('WWW-Authenticate');
          }
        }
      }
    }
  });
});

describe('the error catalogues of @tessera/core', () => {
  // The document takes codes, messages and "when" from the catalogues the dialects render with:
  // an entry no route lists would be an answer the document does not allow.
  const schemas = Object.values(OPENAPI.components.schemas);
  const text = JSON.stringify(OPENAPI);

  it('documents every moh failure code and PEB error as a component schema, with when it is given', () => {
    for (const [which, { code, message }] of Object.entries(MOH_CODES)) {
      if (which === 'ok') continue;
      const when = MOH_WHEN[which as keyof typeof MOH_WHEN];
      expect(OPENAPI.components.schemas[`Moh${message.replaceAll(' ', '')}`], which).toMatchObject({
        title: `code ${code}`,
        description: when,
      });
    }
    for (const [which, e] of Object.entries(PEB_ERRORS)) {
      const found = schemas.find((s) => s.title === `error ${e.id}, status ${e.status}`);
      expect(found, which).toMatchObject({ description: e.when });
      expect(JSON.stringify(found), which).toContain(JSON.stringify(e.message));
    }
  });

  it('lists every nehr and simplejwt message, every simplejwt view and every /oauth error', () => {
    const quoted = [
      ...Object.values(NEHR_MESSAGES),
      ...Object.values(SIMPLEJWT_MESSAGES),
      ...Object.values(SIMPLEJWT_VIEWS)
        .filter((v) => v.description !== '')
        .flatMap((v) => [v.name, v.description]),
      ...Object.values(OAUTH_ERRORS).flatMap((e) => [e.error, e.description]),
    ];
    for (const q of quoted) expect(text, q).toContain(JSON.stringify(q));
  });
});

describe('validateResponse', () => {
  it('accepts documented answers', () => {
    validateResponse('POST', '/getUserToken', 200, headers(), JSON.stringify(ENVELOPE_OK));
    validateResponse('POST', '/getUserToken?x=1', 200, headers(), '{"version":"v2","code":3,"message":"Bad Credentials","result":null}');
    // a route moved by TESSERA_MOH_BASE is found under its prefix
    validateResponse('POST', '/moh/getUserToken', 200, headers(), JSON.stringify(ENVELOPE_OK));
    validateResponse('POST', '/a/b/refreshUserToken', 200, headers(), '{"version":"v2","code":9,"message":"Invalid Token","result":null}');
    validateResponse(
      'GET',
      '/v1/login',
      200,
      headers({ allow: 'POST' }),
      '{"status":405,"message":"Only POST method is allowed.","error_id":5}',
    );
    validateResponse(
      'POST',
      '/api/token/',
      400,
      drf(),
      '{"username":["This field is required."],"password":["This field may not be blank."]}',
    );
    validateResponse(
      'POST',
      '/api/token/',
      400,
      drf(),
      '{"username":["Null characters are not allowed.","Surrogate characters are not allowed: U+DC00."],"password":["Surrogate characters are not allowed: U+D800."]}',
    );
    validateResponse('POST', '/oauth/revoke', 200, headers(), '');
    validateResponse(
      'POST',
      '/nope',
      404,
      new Headers({ 'content-type': 'application/json', 'cache-control': 'no-store' }),
      '{"error":"not_found","message":"No such route."}',
    );
    validateResponse('GET', '/metrics', 200, new Headers({ 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }), '# HELP x\n');
  });

  it('documents what the operations routes answer to any method (found by test/robustness)', () => {
    const plain = new Headers({ 'content-type': 'application/json', 'cache-control': 'no-store' });
    for (const m of ['POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE']) {
      validateResponse(m, '/healthz', 200, plain, '{"status":"ok"}');
      validateResponse(m, '/readyz', 503, plain, '{"status":"unavailable","redis":"unreachable"}');
      validateResponse(m, '/metrics', 404, plain, '{"error":"not_found","message":"No such route."}');
      validateResponse(m, '/openapi.json', 200, new Headers({ 'content-type': 'application/json' }), JSON.stringify(OPENAPI));
    }
  });

  it.each<[string, string, string, number, Headers, string]>([
    [
      'a moh message that does not match its code',
      'POST',
      '/getUserToken',
      200,
      headers(),
      '{"version":"v2","code":3,"message":"Invalid Request","result":null}',
    ],
    ['an extra envelope field', 'POST', '/getUserToken', 200, headers(), JSON.stringify({ ...ENVELOPE_OK, extra: 1 })],
    [
      'a token that is no UUID v4',
      'POST',
      '/nehrapi/login/getToken',
      200,
      headers(),
      JSON.stringify({ ...ENVELOPE_OK, result: { ...ENVELOPE_OK.result, access_token: 'd0816a77-af67-13fc-bad1-2edb2aae3dc5' } }),
    ],
    ['an undocumented status', 'POST', '/nehrapi/login/getToken', 418, headers(), '{"code":418,"message":"teapot"}'],
    [
      'a nehr code that is not the status',
      'POST',
      '/nehrapi/login/getToken',
      401,
      headers(),
      '{"code":400,"message":"Unauthorized: Access is denied due to invalid credentials."}',
    ],
    [
      'a 429 without Retry-After',
      'POST',
      '/nehrapi/login/getToken',
      429,
      headers(),
      '{"code":429,"message":"Too Many Requests: Too many login attempts from this client."}',
    ],
    ['a 405 without Allow', 'GET', '/api/token', 405, headers({ vary: 'Accept' }), '{"detail":"Method \\"GET\\" not allowed."}'],
    ['a simplejwt 400 without Allow', 'POST', '/api/token', 400, headers({ vary: 'Accept' }), '{"username":["This field is required."]}'],
    ['a simplejwt 400 without Vary', 'POST', '/api/token', 400, headers({ allow: DRF.allow }), '{"username":["This field is required."]}'],
    ['a simplejwt 200 without Allow and Vary', 'POST', '/api/token/verify/', 200, headers(), '{}'],
    [
      'an OPTIONS answer without the actions metadata',
      'OPTIONS',
      '/api/token/verify/',
      200,
      drf(),
      JSON.stringify({
        name: 'Token Verify',
        description:
          "Takes a token and indicates if it is valid.  This view provides no\ninformation about a token's fitness for a particular use.",
        renders: ['application/json', 'text/html'],
        parses: ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data'],
      }),
    ],
    [
      'no Cache-Control',
      'POST',
      '/api/token',
      401,
      new Headers({ 'content-type': 'application/json', 'www-authenticate': 'Bearer realm="api"', pragma: 'no-cache', ...DRF }),
      '{"detail":"No active account found with the given credentials"}',
    ],
    [
      'a field error of a field the route does not read',
      'POST',
      '/api/token/refresh/',
      400,
      drf(),
      '{"username":["This field is required."]}',
    ],
    [
      'a PEB token of 127 hex',
      'POST',
      '/v1/login',
      200,
      headers(),
      JSON.stringify({ status: 200, token: 'a'.repeat(127), valid_till: '2023-09-25T01:21:20', valid_till_unix: 1695600885 }),
    ],
    [
      'a PEB error id with the wrong message',
      'POST',
      '/v1/login/check',
      200,
      headers(),
      '{"status":401,"message":"User with given credentials not found.","error_id":9}',
    ],
    ['a body that is not JSON', 'POST', '/oauth/introspect', 200, headers(), 'active'],
    ['an introspection answer with more than active:false', 'POST', '/oauth/introspect', 200, headers(), '{"active":false,"username":"x"}'],
    ['a body where none is documented', 'POST', '/oauth/revoke', 200, headers(), '{}'],
    ['a method the document cannot hold', 'SEARCH', '/metrics', 404, headers(), '{"error":"not_found","message":"No such route."}'],
    ['a path that is no route answering 200', 'POST', '/api/tokens', 200, headers(), '{}'],
    ['a 404 that is not the JSON 404', 'GET', '/nope', 404, headers(), '<html>not found</html>'],
  ])('rejects %s', (_title, method, path, status, hdrs, body) => {
    expect(() => validateResponse(method, path, status, hdrs, body)).toThrow(
      new RegExp(`^OpenAPI: ${method} ${path.replace(/[?]/g, '\\?')} answered ${status}`),
    );
  });

  it('names the Ajv errors', () => {
    expect(() => validateResponse('POST', '/api/token', 200, drf(), '{"refresh":"x","access":"y"}')).toThrow(/body: .*refresh.*pattern/s);
  });
});

describe('GET /openapi.json', () => {
  it('serves the document the answers are validated against', async () => {
    const { startStack } = await import('../support/stack.ts');
    await using stack = await startStack();
    const res = await fetch(`${stack.base}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toStrictEqual(JSON.parse(JSON.stringify(OPENAPI)));
  });
});
