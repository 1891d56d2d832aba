import fc from 'fast-check';
import { type Attempt, describeAttempt } from './support.ts';

/**
 * Generators of hostile requests. Each is a fast-check arbitrary, so a failure shrinks to a small
 * request and a seed repeats it.
 */

const enc = new TextEncoder();
const utf8 = (s: string): Uint8Array => enc.encode(s);

/** Strings with what parsers trip on: NUL, lone surrogates, non-BMP, combining marks, RTL, BOM, escapes. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    'a\u0000b',
    '\ud800',
    '\udfff',
    'x\ud83d',
    '\ud83d\ude00',
    '\u202e\u0041',
    '\ufeff',
    'e\u0301',
    '\\u0000',
    '%00',
    '../../etc/passwd',
    `\${jndi:ldap://x}`,
    '<script>',
    "' OR 1=1 --",
    '__proto__',
    'constructor',
    '\r\n',
    'MOH-90008',
    'sampleUser',
    'someone@example.com',
    'SOMEONE@EXAMPLE.COM',
  ),
  fc.integer({ min: 250, max: 260 }).map((n) => 'ü'.repeat(n)),
  fc.integer({ min: 1, max: 5000 }).map((n) => 'a'.repeat(n)),
);

/** Any JSON value, or a value of the wrong type for a string field. */
export const fieldValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: nastyString },
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(nastyString, { maxLength: 3 }),
  fc.dictionary(nastyString, nastyString, { maxKeys: 3 }),
  fc.jsonValue({ maxDepth: 3 }),
);

const FIELD_NAMES = [
  'username',
  'email',
  'password',
  'refresh_token',
  'refresh',
  'token',
  'token_type_hint',
  'client_id',
  'client_secret',
  'grant_type',
  '__proto__',
  'constructor',
] as const;

/** An object of known field names (some missing, some wrong) and extra ones. */
export const fieldObject: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(fc.dictionary(fc.constantFrom(...FIELD_NAMES), fieldValue, { maxKeys: 5 }), fc.dictionary(nastyString, fieldValue, { maxKeys: 3 }))
  .map(([known, extra]) => ({ ...extra, ...known }));

/** JSON nested `depth` levels deep, in arrays or objects. */
const deepJson = fc
  .tuple(fc.integer({ min: 1, max: 3000 }), fc.boolean())
  .map(([depth, arrays]) => (arrays ? `${'['.repeat(depth)}1${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`));

/** A JSON document padded to `limit + delta` bytes (the body limit is 16384 by default). */
const nearLimit = fc
  .tuple(fieldObject, fc.integer({ min: -40, max: 40 }), fc.constantFrom('a', 'ü', '\u0000'))
  .map(([obj, delta, unit]) => {
    const base = JSON.stringify({ ...obj, pad: '' });
    const room = 16_384 + delta - utf8(base).byteLength;
    const pad =
      unit === 'a'
        ? 'a'.repeat(Math.max(0, room))
        : unit === 'ü'
          ? 'ü'.repeat(Math.max(0, Math.floor(room / 2)))
          : '\\u0000'.repeat(Math.max(0, Math.floor(room / 6)));
    return `${base.slice(0, -2)}"${pad}"}`;
  });

/** Bytes that are not UTF-8, spliced into a JSON or form body. */
const badUtf8 = fc
  .tuple(fc.uint8Array({ minLength: 1, maxLength: 8 }), fc.constantFrom(0xff, 0xc0, 0x80, 0xed, 0xf8))
  .map(([bytes, lead]) => Uint8Array.from([lead, ...bytes]));

function splice(text: string, inner: Uint8Array): Uint8Array {
  const at = Math.max(0, text.indexOf('"') + 1);
  const head = utf8(text.slice(0, at));
  const tail = utf8(text.slice(at));
  const out = new Uint8Array(head.byteLength + inner.byteLength + tail.byteLength);
  out.set(head, 0);
  out.set(inner, head.byteLength);
  out.set(tail, head.byteLength + inner.byteLength);
  return out;
}

/** A urlencoded body of the given fields (values stringified), or percent-garbage. */
const formBody: fc.Arbitrary<Uint8Array> = fc.oneof(
  fieldObject.map((o) => {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(o)) p.append(k, typeof v === 'string' ? v : (JSON.stringify(v) ?? ''));
    return utf8(p.toString());
  }),
  fc.constantFrom('%', '%zz', 'username=%ff%fe&password=%', '&&&=&==', 'a=1&a=2&a=3', 'username&password', '=x'.repeat(2000)).map(utf8),
  fc.tuple(fc.string({ maxLength: 30 }), badUtf8).map(([s, b]) => splice(`username=${encodeURIComponent(s)}&password=x`, b)),
);

/** A multipart body, often malformed: wrong boundary, unterminated, fields as files. */
const multipartBody: fc.Arbitrary<{ boundary: string; body: Uint8Array }> = fc
  .tuple(
    fc.constantFrom('b0undary', 'x', '----WebKitFormBoundary7MA4YWxkTrZu0gW'),
    fc.dictionary(fc.constantFrom('username', 'email', 'password', 'token', 'refresh'), nastyString, { maxKeys: 3 }),
    fc.boolean(),
    fc.constantFrom('ok', 'unterminated', 'wrong-boundary', 'no-headers'),
  )
  .map(([boundary, fields, asFile, shape]) => {
    const parts = Object.entries(fields).map(([name, value]) => {
      const disposition = `Content-Disposition: form-data; name="${name}"${asFile ? '; filename="f.txt"' : ''}`;
      return shape === 'no-headers' ? `--${boundary}\r\n\r\n${value}\r\n` : `--${boundary}\r\n${disposition}\r\n\r\n${value}\r\n`;
    });
    const end = shape === 'unterminated' ? '' : `--${boundary}--\r\n`;
    const text = parts.join('') + end;
    return { boundary: shape === 'wrong-boundary' ? `${boundary}x` : boundary, body: utf8(text) };
  });

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON; Charset="UTF-8"',
  'application/json; charset=latin1',
  'application/json;;;',
  'application/json; boundary=x',
  'application/merge-patch+json',
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=iso-8859-1',
  'multipart/form-data',
  'multipart/form-data; boundary=',
  'text/plain',
  'text/html; charset=utf-8',
  '*/*',
  '',
  ';',
  'application/',
  'json',
] as const;

/** A body and a content type for it, matching or not. */
export const body: fc.Arbitrary<{ contentType: string | undefined; body: Uint8Array | null }> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.tuple(fieldObject, fc.constantFrom('application/json', 'application/json; charset=utf-8')).map(([o, ct]) => ({
      contentType: ct,
      body: utf8(JSON.stringify(o)),
    })),
  },
  fc
    .tuple(fc.jsonValue({ maxDepth: 4 }), fc.constantFrom(...CONTENT_TYPES))
    .map(([v, ct]) => ({ contentType: ct, body: utf8(JSON.stringify(v) ?? 'null') })),
  deepJson.map((text) => ({ contentType: 'application/json', body: utf8(text) })),
  nearLimit.map((text) => ({ contentType: 'application/json', body: utf8(text) })),
  fc.tuple(fieldObject, fc.nat()).map(([o, cut]) => {
    const text = JSON.stringify(o);
    return { contentType: 'application/json', body: utf8(text.slice(0, cut % Math.max(1, text.length))) };
  }),
  fc.tuple(fieldObject, badUtf8).map(([o, b]) => ({ contentType: 'application/json', body: splice(JSON.stringify(o), b) })),
  fc
    .constantFrom(
      '{"username":"\\ud800","password":"\\udfff"}',
      '{"username":"a\\u0000","password":"b"}',
      '{"a":1}{"b":2}',
      '\ufeff{"a":1}',
      'null',
      '[]',
      '"x"',
      '1e999',
      '-',
    )
    .map((t) => ({ contentType: 'application/json', body: utf8(t) })),
  formBody.map((b) => ({ contentType: 'application/x-www-form-urlencoded', body: b })),
  multipartBody.map((m) => ({ contentType: `multipart/form-data; boundary=${m.boundary}`, body: m.body })),
  fc
    .tuple(fc.uint8Array({ maxLength: 64 }), fc.option(fc.constantFrom(...CONTENT_TYPES), { nil: undefined }))
    .map(([b, ct]) => ({ contentType: ct, body: b })),
  fc.option(fc.constantFrom(...CONTENT_TYPES), { nil: undefined }).map((ct) => ({ contentType: ct, body: new Uint8Array(0) })),
  fc.constant({ contentType: undefined, body: null }),
);

/** Printable header text (node:http refuses control characters), some of it Latin-1. */
export const headerText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 }),
  fc.string({ unit: fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength: 10 }),
  fc.integer({ min: 1, max: 6000 }).map((n) => 'x'.repeat(n)),
);

const b64 = (s: string) => Buffer.from(s, 'latin1').toString('base64');

/** Authorization header values: Basic and Bearer garbage, and `good` (a real client's Basic) sometimes. */
export function authorization(good: string): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    fc.constant(undefined),
    fc.constant(good),
    fc.constant(`${good}x`),
    fc.constant(good.toLowerCase()),
    headerText,
    headerText.map((t) => `Basic ${t}`),
    headerText.map((t) => `Basic ${b64(t)}`),
    fc.tuple(headerText, headerText).map(([u, p]) => `Basic ${b64(`${u}:${p}`)}`),
    fc.constantFrom(
      'Basic',
      'Basic ',
      'Basic =',
      'Basic ====',
      'Basic Og==',
      'Basic %%%',
      'Bearer',
      'Bearer ',
      'Negotiate abc',
      'basic   dXNlcjpwYXNz   ',
    ),
    headerText.map((t) => `Bearer ${t}`),
  );
}

/** Further request headers: forwarded addresses, request ids, cookies, odd accept values. */
export const extraHeaders: fc.Arbitrary<Record<string, string>> = fc.dictionary(
  fc.constantFrom(
    'x-forwarded-for',
    'x-real-ip',
    'forwarded',
    'x-request-id',
    'user-agent',
    'accept',
    'accept-encoding',
    'cookie',
    'origin',
    'sec-fetch-site',
    'expect',
    'x-http-method-override',
    'content-encoding',
  ),
  headerText,
  { maxKeys: 3 },
);

export const METHODS = ['POST', 'POST', 'POST', 'GET', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;
/** Methods outside the usual ones: valid tokens the OpenAPI document does not list. */
export const ODD_METHODS = ['TRACE', 'PROPFIND', 'MKCOL', 'LINK', 'FOO', 'QUERY', 'SEARCH'] as const;

/** A query string, usually empty. */
export const query: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constant('') },
  fc.constantFrom('?', '?a=1', '?username=x&password=y', '?%', '?%zz&&=', `?${'q'.repeat(3000)}`, '?a=%00', '?#frag'),
);

/** A token as a client might send it: a real one, cut, changed, extended, or made up. */
export function tokenValue(real: readonly string[]): fc.Arbitrary<string> {
  const base = real.length > 0 ? fc.constantFrom(...real) : fc.constant('x');
  return fc.oneof(
    base,
    fc.tuple(base, fc.nat()).map(([t, n]) => t.slice(0, n % Math.max(1, t.length))),
    fc.tuple(base, fc.nat(), fc.constantFrom('A', '.', '-', '_', '\u0000', '=', 'é')).map(([t, n, c]) => {
      const i = n % Math.max(1, t.length);
      return `${t.slice(0, i)}${c}${t.slice(i + 1)}`;
    }),
    fc.tuple(base, nastyString).map(([t, s]) => `${t}${s}`),
    fc.uuid(),
    fc.tuple(headerText, headerText, headerText).map(([a, b, c]) => `${b64(a)}.${b64(b)}.${b64(c)}`),
    fc.constantFrom(
      `${b64('{"alg":"none","typ":"JWT"}')}.${b64('{"user_id":1,"token_type":"access","exp":9999999999}')}.`,
      `${b64('{"alg":"HS256"}')}.${b64('{"token_type":"refresh","jti":"x","exp":1}')}.sig`,
      'eyJ.eyJ.',
      '..',
    ),
    nastyString,
  );
}

/** Bodies carrying a token under the fields the token routes read, as JSON or form, plus anything `body` makes. */
export function tokenBodies(real: readonly string[]): fc.Arbitrary<{ contentType: string | undefined; body: Uint8Array | null }> {
  const carried = fc
    .record({
      fields: fc.dictionary(
        fc.constantFrom('refresh_token', 'refresh', 'token', 'token_type_hint', 'client_id', 'client_secret'),
        tokenValue(real),
        {
          minKeys: 1,
          maxKeys: 3,
        },
      ),
      form: fc.boolean(),
    })
    .map(({ fields, form }) =>
      form
        ? { contentType: 'application/x-www-form-urlencoded', body: utf8(new URLSearchParams(fields).toString()) }
        : { contentType: 'application/json', body: utf8(JSON.stringify(fields)) },
    );
  return fc.oneof({ weight: 3, arbitrary: carried }, body);
}

/** A request to `path` built from the pieces above; `auth` adds an Authorization header. */
export function attemptOn(
  paths: fc.Arbitrary<string>,
  options: {
    readonly auth?: fc.Arbitrary<string | undefined>;
    readonly bodies?: fc.Arbitrary<{ contentType: string | undefined; body: Uint8Array | null }>;
    readonly methods?: readonly string[];
  } = {},
): fc.Arbitrary<Attempt> {
  const methods = options.methods ?? METHODS;
  return fc
    .record({
      path: paths,
      q: query,
      method: fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...methods) }, fc.constantFrom(...ODD_METHODS)),
      b: options.bodies ?? body,
      auth: options.auth ?? fc.constant(undefined),
      extra: extraHeaders,
      chunked: fc.boolean(),
    })
    .map(({ path, q, method, b, auth: a, extra, chunked }) => {
      const headers: Record<string, string> = { ...extra };
      if (b.contentType !== undefined) headers['content-type'] = b.contentType;
      if (a !== undefined) headers.authorization = a;
      // a body with GET or HEAD is legal HTTP but undici-style clients refuse it; node:http sends it
      const attempt: Attempt = { method, path: `${path}${q}`, headers, body: b.body, chunked: chunked && b.body !== null };
      // fast-check prints a failing attempt this way: readable, bodies cut short
      return Object.assign(attempt, { [fc.toStringMethod]: () => describeAttempt(attempt) });
    });
}

/** A path near `path`: trailing or doubled slashes, case, percent-encoding, dot segments, suffixes. */
export function nearPath(paths: readonly string[]): fc.Arbitrary<string> {
  return fc.tuple(fc.constantFrom(...paths), fc.integer({ min: 0, max: 9 }), fc.nat()).map(([p, how, n]) => {
    const at = 1 + (n % Math.max(1, p.length - 1));
    switch (how) {
      case 0:
        return p.endsWith('/') ? p.slice(0, -1) : `${p}/`;
      case 1:
        return p.toUpperCase();
      case 2:
        return `${p.slice(0, at)}%${p.charCodeAt(at).toString(16).padStart(2, '0')}${p.slice(at + 1)}`;
      case 3:
        return `/${p}`;
      case 4:
        return `${p}/..`;
      case 5:
        return `/./${p.slice(1)}`;
      case 6:
        return `${p};jsessionid=1`;
      case 7:
        return `${p}%00`;
      case 8:
        return `${p}${'/x'.repeat(1 + (n % 400))}`;
      default:
        return `${p.slice(0, at)}${p.slice(at + 1)}`;
    }
  });
}
