/**
 * The builders every part of the OpenAPI document uses, and the registry of its shared parts:
 * what more than one operation uses is kept once in `components` and referenced.
 */
import { HEX128, UUID_V4 } from '@tessera/core';
import {
  type HeaderObject,
  HTTP_METHODS,
  type HttpMethod,
  type Json,
  type JsonSchema,
  type OperationObject,
  type ReferenceObject,
  type RequestBodyObject,
  type ResponseObject,
} from './types.ts';

export const schema = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
export const header = (name: string): ReferenceObject => ({ $ref: `#/components/headers/${name}` });
export const response = (name: string): ReferenceObject => ({ $ref: `#/components/responses/${name}` });

/** An object with exactly these properties; all required unless listed in `optional`. */
export function closed(properties: Record<string, JsonSchema>, optional: readonly string[] = [], description?: string): JsonSchema {
  const required = Object.keys(properties).filter((k) => !optional.includes(k));
  return { type: 'object', ...(description === undefined ? {} : { description }), additionalProperties: false, required, properties };
}

export const constant = (value: Json, description?: string): JsonSchema =>
  description === undefined ? { const: value } : { const: value, description };
export const oneOf = (...schemas: JsonSchema[]): JsonSchema => ({ oneOf: schemas });
/** A component narrowed for one answer: the shared shape, plus what this route fixes. */
export const narrowed = (base: string, narrowing: JsonSchema): JsonSchema => ({ allOf: [schema(base), narrowing] });
export const str = (description: string, extra: JsonSchema = {}): JsonSchema => ({ type: 'string', description, ...extra });

export type HeaderMap = Record<string, HeaderObject | ReferenceObject>;

/** Every token-route answer (and every /oauth answer) carries these (RFC 6749 §5.1). */
export const TOKEN_HEADERS: HeaderMap = { 'Cache-Control': header('CacheControl'), Pragma: header('Pragma') };
/** Health, readiness and the JSON 404 send `Cache-Control: no-store` only. */
export const PLAIN_HEADERS: HeaderMap = { 'Cache-Control': header('CacheControl') };

export function json(description: string, body: JsonSchema, extra: HeaderMap = {}, base: HeaderMap = TOKEN_HEADERS): ResponseObject {
  return { description, headers: { ...base, ...extra }, content: { 'application/json': { schema: body } } };
}

/**
 * Parts used by more than one operation are kept once, in `components`, and referenced: the
 * builders below register them here as they go.
 */
export const SHARED_SCHEMAS: Record<string, JsonSchema> = {};
export const SHARED_RESPONSES: Record<string, ResponseObject> = {};
export const SHARED_BODIES: Record<string, RequestBodyObject> = {};

export function sharedSchema(name: string, value: JsonSchema): JsonSchema {
  SHARED_SCHEMAS[name] = value;
  return schema(name);
}

export function sharedResponse(name: string, value: ResponseObject): ReferenceObject {
  SHARED_RESPONSES[name] = value;
  return response(name);
}

export function op(
  operationId: string,
  tag: string,
  summary: string,
  responses: Record<string, ResponseObject | ReferenceObject>,
  more: Partial<Pick<OperationObject, 'description' | 'requestBody' | 'security'>> = {},
): OperationObject {
  return { operationId, summary, tags: [tag], ...more, responses: { ...responses, '431': HEAD_TOO_LARGE } };
}

/** Every operation's: the HTTP layer refuses a request head it will not read (docs/security.md, HTTP parsing). */
const HEAD_TOO_LARGE = sharedResponse('HeadTooLarge', {
  description:
    'The HTTP layer, before any route: a request head over 16 KiB or of more than 100 header lines; no body, and the connection closes (docs/security.md, "HTTP parsing").',
});

/**
 * Operations for every method but POST (and OPTIONS where the dialect answers it itself): each
 * gets the dialect's "method not allowed" answer (a HEAD answer carries its headers only).
 */
export function otherMethods(
  idBase: string,
  tag: string,
  responses: Record<string, ResponseObject | ReferenceObject>,
  skip: readonly HttpMethod[] = [],
): { [M in HttpMethod]?: OperationObject } {
  const out: { [M in HttpMethod]?: OperationObject } = {};
  for (const m of HTTP_METHODS) {
    if (m === 'post' || skip.includes(m)) continue;
    out[m] = op(`${idBase}${m[0]?.toUpperCase()}${m.slice(1)}`, tag, `${m.toUpperCase()}: refused, only POST is served`, responses);
  }
  return out;
}

const BODY_RULES =
  'Sent as `application/json`, `application/x-www-form-urlencoded` or `multipart/form-data`, UTF-8, at most TESSERA_BODY_LIMIT bytes (see the body rules in the API description).';

/** The three body encodings every dialect reads (docs/contract.md), with one field schema; kept in components. */
export function formBody(name: string, description: string, fields: JsonSchema): ReferenceObject {
  SHARED_BODIES[name] = {
    description: `${description} ${BODY_RULES}`,
    required: true,
    content: {
      'application/json': { schema: fields },
      'application/x-www-form-urlencoded': { schema: fields },
      'multipart/form-data': { schema: fields },
    },
  };
  return { $ref: `#/components/requestBodies/${name}` };
}

export const capitalised = (word: string): string => `${word[0]?.toUpperCase()}${word.slice(1)}`;

/** The JSON 404 of a route moved by TESSERA_MOH_BASE. */
export const MOVED: ReferenceObject = response('MovedByPrefix');

// ---- patterns of the tokens Tessera issues ----

export const PATTERNS = {
  uuid4: UUID_V4.source,
  hex128: HEX128.source,
  /** A compact JWS whose header and claims are JSON objects (`eyJ` is `{"`). */
  jwt: '^eyJ[A-Za-z0-9_-]+\\.eyJ[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$',
  pebTime: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}$',
  seconds: '^[1-9][0-9]*$',
} as const;
