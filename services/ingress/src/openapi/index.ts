/**
 * The OpenAPI 3.1 description of every route the ingress answers and of every answer it gives,
 * served as `GET /openapi.json`. Each dialect's codes and messages, and when each is given, come
 * from its catalogue in `@tessera/core` (the one the dialect renders with); the contract stays
 * independent where it matters: the conformance suites quote the source documents word for word,
 * and the end-to-end suites validate every answer they receive against this document.
 *
 * Where the four source documents are silent, Tessera's decisions are written in `description`
 * fields (docs/contract.md asks for that). Plain data from `@tessera/core`: it loads on Node and on Deno.
 * One file per part: `build.ts` (builders, shared parts), one per dialect, `oauth.ts`,
 * `operations.ts`, `components.ts`; this one assembles the document.
 */
import { SHARED_BODIES, SHARED_RESPONSES, SHARED_SCHEMAS } from './build.ts';
import { HEADERS, RESPONSES, SCHEMAS, SECURITY_SCHEMES } from './components.ts';
import { mohItem } from './moh.ts';
import { nehrItem } from './nehr.ts';
import { oauthItem } from './oauth.ts';
import { OPERATIONS_PATHS } from './operations.ts';
import { pebItem } from './peb.ts';
import { SIMPLEJWT_PATHS, simplejwtItem } from './simplejwt.ts';
import type { OpenApiDocument, PathItemObject } from './types.ts';

export * from './types.ts';

const simplejwtRoutes = (Object.keys(SIMPLEJWT_PATHS) as (keyof typeof SIMPLEJWT_PATHS)[]).flatMap((action) => {
  const { path } = SIMPLEJWT_PATHS[action];
  return [
    [path, simplejwtItem(action, false)],
    [`${path}/`, simplejwtItem(action, true)],
  ] as const;
});

/** Every route; built first, so that the shared parts its builders register are in place for `components`. */
const PATHS: Readonly<Record<string, PathItemObject>> = {
  '/getUserToken': mohItem('login'),
  '/refreshUserToken': mohItem('refresh'),
  '/nehrapi/login/getToken': nehrItem('login'),
  '/nehrapi/login/refreshToken': nehrItem('refresh'),
  ...Object.fromEntries(simplejwtRoutes),
  '/v1/login': pebItem('login'),
  '/v1/login/renew': pebItem('renew'),
  '/v1/login/check': pebItem('check'),
  '/oauth/introspect': oauthItem('introspect'),
  '/oauth/revoke': oauthItem('revoke'),
  ...OPERATIONS_PATHS,
};

export const OPENAPI: OpenApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'Tessera',
    version: '0.1.0',
    description: [
      'Token service speaking four existing login APIs on one user store and one token store: the ministry v2 envelope (`moh`, document 000), its NEHR variant (`nehr`, document 001), Django SimpleJWT (`simplejwt`, document 002) and the PEB API (`peb`, document 003), plus RFC 7662 introspection and RFC 7009 revocation.',
      '',
      'Body rules of every token route: bodies are `application/json`, `application/x-www-form-urlencoded` or `multipart/form-data`, UTF-8 (a `charset` other than UTF-8 is an unsupported media type), at most TESSERA_BODY_LIMIT bytes (16 KiB; bigger bodies are refused unread). An empty body, whatever its content type, is a body without fields: the answer is the dialect\'s "field missing" answer. JSON nested deeper than 64 levels (arrays and objects; a login body is 1) is malformed JSON, refused before it is parsed. In urlencoded bodies the last repetition of a field wins, and bytes that are not UTF-8 decode leniently (U+FFFD), as Django\'s QueryDict does; in JSON a lone surrogate escape (`\\ud800`) in a text field reads as U+FFFD, as its UTF-8 bytes would; a multipart file part where a text field is expected counts as a value of the wrong type.',
      '',
      'Answers of every token route: every answer is JSON with `Cache-Control: no-store` and `Pragma: no-cache`; an unknown user, a wrong password and a disabled user get byte-identical answers after the same argon2 work; every outcome (success, bad credentials, locked, throttled, malformed, unavailable, unexpected error) has a documented answer in the dialect, never an HTML page or a dropped connection. A path that is no route answers the JSON 404 `{"error":"not_found","message":"No such route."}`; the query string never changes the route.',
      '',
      "Tessera's decisions where the documents are silent are written in the descriptions: `moh` codes 1 and 4–9; every `nehr` message but 401 and 500; simplejwt's 413 and 503 answers; PEB error 11 for bad credentials, 18 for locked (403) and throttled (429), 413/415 for size and media type, `new_token` beside `token` on renew; the refresh routes of `moh` and `nehr` and their single-use refresh tokens (reuse revokes the login family).",
    ].join('\n'),
  },
  servers: [{ url: 'http://localhost:8080', description: '`npm start` (TESSERA_PORT, default 8080)' }],
  tags: [
    { name: 'moh', description: 'Ministry v2 envelope (document 000): always HTTP 200, outcome in `code`.' },
    { name: 'nehr', description: 'NEHR variant (document 001): the same envelope, real HTTP statuses on failure.' },
    { name: 'simplejwt', description: 'djangorestframework-simplejwt 5.2 with default settings (document 002).' },
    { name: 'peb', description: 'The PEB API (document 003, peb-reference.md): HTTP 200, outcome in `status`.' },
    { name: 'oauth', description: 'For other services: introspection and revocation of every token kind.' },
    { name: 'operations', description: 'Health, readiness, metrics and this document.' },
  ],
  paths: PATHS,
  components: {
    schemas: { ...SCHEMAS, ...SHARED_SCHEMAS },
    headers: HEADERS,
    responses: { ...RESPONSES, ...SHARED_RESPONSES },
    requestBodies: SHARED_BODIES,
    securitySchemes: SECURITY_SCHEMES,
  },
};
