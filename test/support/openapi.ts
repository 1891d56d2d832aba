import {
  type HeaderObject,
  HTTP_METHODS,
  type HttpMethod,
  OPENAPI,
  type OperationObject,
  type PathItemObject,
  type ReferenceObject,
  type ResponseObject,
} from '@tessera/ingress';
import Ajv2020 from 'ajv/dist/2020.js';

/**
 * Checks answers against Tessera's OpenAPI document: the operation (exact path; a route moved by a
 * prefix setting such as TESSERA_MOH_BASE is found under its prefix), a documented status, the
 * required headers and their values, the media type, and JSON bodies against the schemas (Ajv,
 * JSON Schema 2020-12). Paths the document does not list may only answer the JSON 404.
 */

const DOC_ID = 'urn:tessera:openapi';

const ajv = new Ajv2020.default({ strict: false, allErrors: true, validateFormats: false });
ajv.addSchema(OPENAPI as unknown as Record<string, unknown>, DOC_ID);

type Validate = ReturnType<typeof ajv.compile>;
const compiled = new Map<string, Validate>();

/** The compiled validator of the schema at a JSON pointer into the document (cached). */
function validatorAt(pointer: string): Validate {
  let v = compiled.get(pointer);
  if (v === undefined) {
    v = ajv.compile({ $ref: `${DOC_ID}#${pointer}` });
    compiled.set(pointer, v);
  }
  return v;
}

const pointerPart = (part: string) => part.replaceAll('~', '~0').replaceAll('/', '~1');
const pointerOf = (...parts: string[]) => parts.map((p) => `/${pointerPart(p)}`).join('');

function isRef(value: object): value is ReferenceObject {
  return '$ref' in value;
}

/** Follows a `#/components/...` reference; returns the object and its JSON pointer. */
function deref<T>(value: T | ReferenceObject, pointer: string): { value: T; pointer: string } {
  if (typeof value !== 'object' || value === null || !isRef(value)) return { value: value as T, pointer };
  const target = value.$ref.slice(1);
  let at: unknown = OPENAPI;
  for (const part of target.split('/').slice(1)) {
    at = (at as Record<string, unknown>)[part.replaceAll('~1', '/').replaceAll('~0', '~')];
    if (at === undefined) throw new Error(`OpenAPI: unresolved reference ${value.$ref}`);
  }
  return { value: at as T, pointer: target };
}

/** The path item answering `path`, and its key in the document. */
function findPathItem(path: string): { key: string; item: PathItemObject } | null {
  const exact = OPENAPI.paths[path];
  if (exact !== undefined) return { key: path, item: exact };
  for (const [key, item] of Object.entries(OPENAPI.paths)) {
    if (item['x-tessera-prefix-setting'] === undefined || !path.endsWith(key)) continue;
    if (/^(?:\/[^/]+)+$/.test(path.slice(0, -key.length))) return { key, item };
  }
  return null;
}

function describeErrors(v: Validate): string {
  const lines = (v.errors ?? []).map(
    (e) => `${e.instancePath === '' ? '(root)' : e.instancePath} ${e.message ?? 'is invalid'} [${e.schemaPath}]`,
  );
  return [...new Set(lines)].join('\n    ');
}

function check(method: string, headers: Headers, bodyText: string, res: ResponseObject, at: string): string[] {
  const problems: string[] = [];
  for (const [name, h] of Object.entries(res.headers ?? {})) {
    const { value: hdr, pointer } = deref<HeaderObject>(h, `${at}/headers/${pointerPart(name)}`);
    const sent = headers.get(name);
    if (sent === null) {
      if (hdr.required) problems.push(`header ${name} is required and missing`);
      continue;
    }
    const v = validatorAt(`${pointer}/schema`);
    if (!v(sent)) problems.push(`header ${name}: ${JSON.stringify(sent)}: ${describeErrors(v)}`);
  }
  if (res.content === undefined) {
    if (bodyText !== '') problems.push(`no body is documented, got ${bodyText.length} characters`);
    return problems;
  }
  const mediaType = (headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (!(mediaType in res.content)) {
    problems.push(`content type ${JSON.stringify(mediaType)} is not documented (${Object.keys(res.content).join(', ')})`);
    return problems;
  }
  if (method === 'HEAD' || !(mediaType === 'application/json' || mediaType.endsWith('+json'))) return problems;
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch {
    problems.push('the body is not JSON');
    return problems;
  }
  const v = validatorAt(`${at}/content/${pointerPart(mediaType)}/schema`);
  if (!v(body)) problems.push(`body: ${describeErrors(v)}`);
  return problems;
}

/**
 * Throws unless the answer `status`/`headers`/`bodyText` to `method path` is one the OpenAPI
 * document describes. The query string is ignored.
 */
export function validateResponse(method: string, path: string, status: number, headers: Headers, bodyText: string): void {
  const m = method.toLowerCase() as HttpMethod;
  const route = path.split('?')[0] ?? path;
  const fail = (problems: string[]): never => {
    const body = bodyText.length > 600 ? `${bodyText.slice(0, 600)}…` : bodyText;
    throw new Error(`OpenAPI: ${method} ${path} answered ${status}, not as documented:\n  ${problems.join('\n  ')}\n  body: ${body}`);
  };
  const found = findPathItem(route);
  if (found === null) {
    // Not a route: only the JSON 404, or the HTTP layer's refusal of a head it will not read.
    if (status !== 404 && status !== 431) fail([`${route} is no documented path, so only 404 (or the HTTP layer's 431) may answer`]);
    const name = status === 404 ? 'NotFound' : 'HeadTooLarge';
    const problems = check(
      method,
      headers,
      bodyText,
      OPENAPI.components.responses[name] as ResponseObject,
      pointerOf('components', 'responses', name),
    );
    if (problems.length > 0) fail(problems);
    return;
  }
  if (!HTTP_METHODS.includes(m)) fail([`method ${method} cannot be documented`]);
  const operation: OperationObject | undefined = found.item[m];
  if (operation === undefined) fail([`${method} is not documented for ${found.key}`]);
  const responses = (operation as OperationObject).responses;
  const key = String(status) in responses ? String(status) : 'default' in responses ? 'default' : undefined;
  if (key === undefined) fail([`status ${status} is not documented (${Object.keys(responses).join(', ')})`]);
  const entry = responses[key as string] as ResponseObject | ReferenceObject;
  const { value, pointer } = deref<ResponseObject>(entry, pointerOf('paths', found.key, m, 'responses', key as string));
  const problems = check(method.toUpperCase(), headers, bodyText, value, pointer);
  if (problems.length > 0) fail(problems);
}
