/** The operations routes: health, readiness, metrics and this document. */
import { json, op, PLAIN_HEADERS, schema } from './build.ts';
import {
  HTTP_METHODS,
  type HttpMethod,
  type OperationObject,
  type PathItemObject,
  type ReferenceObject,
  type ResponseObject,
} from './types.ts';

/**
 * An operations route that answers every method alike: each method documented with the same
 * answers (GET and HEAD named as such, the others as answered the same way).
 */
function anyMethod(
  id: string,
  summary: string,
  responses: Record<string, ResponseObject | ReferenceObject>,
  description: string,
): PathItemObject {
  const item: { [M in HttpMethod]?: OperationObject } = {};
  for (const m of HTTP_METHODS) {
    const name = m === 'get' ? id : `${id}${m[0]?.toUpperCase()}${m.slice(1)}`;
    const what = m === 'get' ? summary : m === 'head' ? `${summary} (headers only)` : `${m.toUpperCase()}: answered as GET`;
    item[m] = op(name, 'operations', what, responses, { description });
  }
  return item;
}

/** The JSON 404 for every method but GET: /metrics is served by the edge for GET only. */
function notFoundButGet(id: string): { [M in HttpMethod]?: OperationObject } {
  const out: { [M in HttpMethod]?: OperationObject } = {};
  for (const m of HTTP_METHODS) {
    if (m === 'get') continue;
    out[m] = op(`${id}${m[0]?.toUpperCase()}${m.slice(1)}`, 'operations', `${m.toUpperCase()}: no such route`, {
      '404': { $ref: '#/components/responses/NotFound' },
    });
  }
  return out;
}

const JWKS_HEADERS = {
  'Cache-Control': {
    description: 'Caches may keep the set this long.',
    required: true,
    schema: { type: 'string', pattern: '^public, max-age=\\d+$' },
  },
} as const;

/** The operations routes, each with every method it answers. */
export const OPERATIONS_PATHS: Readonly<Record<string, PathItemObject>> = {
  '/healthz': anyMethod(
    'healthz',
    'Liveness',
    { '200': json('The process answers.', schema('Health'), {}, PLAIN_HEADERS) },
    'Answers every method alike.',
  ),
  '/readyz': anyMethod(
    'readyz',
    'Readiness: Redis answers',
    {
      '200': json('Redis answered a PING.', schema('Ready'), {}, PLAIN_HEADERS),
      '503': json('Redis did not answer within TESSERA_REDIS_TIMEOUT_MS.', schema('NotReady'), {}, PLAIN_HEADERS),
    },
    'Answers every method alike.',
  ),
  '/metrics': {
    get: op(
      'metrics',
      'operations',
      'Prometheus metrics of the ingress',
      {
        '200': {
          description:
            'Prometheus text exposition (`text/plain; version=0.0.4; charset=utf-8`): requests by route, dialect, outcome and status, latency, argon2 wait and pool, process metrics. Never a secret.',
          content: { 'text/plain': { schema: { type: 'string' } } },
        },
      },
      { description: 'Only GET; any other method on this path is the JSON 404 of the handler.' },
    ),
    ...notFoundButGet('metrics'),
  },
  '/.well-known/jwks.json': anyMethod(
    'jwks',
    "The public keys of SimpleJWT's tokens",
    { '200': json('The JWKS (RFC 7517).', schema('Jwks'), {}, JWKS_HEADERS) },
    'Answers every method alike; also served at TESSERA_JWKS_PATH where set (the URL SimpleJWT `JWK_URL` users already point at).',
  ),
  '/openapi.json': anyMethod(
    'openapi',
    'This document',
    { '200': { description: 'This OpenAPI 3.1 document.', content: { 'application/json': { schema: schema('OpenApiDocument') } } } },
    'Answers every method alike.',
  ),
};
