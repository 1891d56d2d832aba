import { aroundAll, describe, expect, it } from 'vitest';
import { serverFailure } from '../support/answers.ts';
import { DEMO, HEX128, ROUTES } from '../support/demo.ts';
import { bytes, concat, expectAnswer, jsonOf, multipart, postJson, type Reply, send } from '../support/http.ts';
import { keysMatching, RUNTIMES, type Stack, startStack } from '../support/stack.ts';

type Dialect = 'moh' | 'nehr' | 'simplejwt' | 'peb';
type Reason = 'missing' | 'blank' | 'null' | 'invalid_type' | 'too_long';
type Field = 'id' | 'password';

interface Want {
  readonly status: number;
  readonly body: string;
  readonly allow?: string;
}

interface RouteCase {
  readonly dialect: Dialect;
  readonly path: string;
  /** The field naming the user. */
  readonly idName: 'username' | 'email';
  readonly id: string;
  readonly password: string;
}

const ROUTE_CASES: RouteCase[] = [
  { dialect: 'moh', path: '/getUserToken', idName: 'username', ...pair(ROUTES.moh.creds.username, ROUTES.moh.creds.password) },
  { dialect: 'nehr', path: '/nehrapi/login/getToken', idName: 'username', ...pair(ROUTES.nehr.creds.username, ROUTES.nehr.creds.password) },
  {
    dialect: 'simplejwt',
    path: '/api/token',
    idName: 'username',
    ...pair(ROUTES.simplejwt.creds.username, ROUTES.simplejwt.creds.password),
  },
  {
    dialect: 'simplejwt',
    path: '/api/token/',
    idName: 'username',
    ...pair(ROUTES.simplejwt.creds.username, ROUTES.simplejwt.creds.password),
  },
  { dialect: 'peb', path: '/v1/login', idName: 'email', ...pair(ROUTES.peb.creds.email, ROUTES.peb.creds.password) },
];

/** An identifier of `n` characters in the route's form: a valid email for PEB (64-character local part, labels of at most 63), 2-byte characters else. */
function long(c: RouteCase, n: number): string {
  if (c.idName === 'username') return 'ü'.repeat(n);
  const local = 'a'.repeat(64);
  const labels = [];
  for (let left = n - 65 - 4; left > 0; left -= 64) labels.push('b'.repeat(Math.min(63, left - 1)));
  return `${local}@${labels.join('.')}.com`.padEnd(n, 'm');
}

function pair(id: string, password: string): { id: string; password: string } {
  return { id, password };
}

// ---- the documented answers, per dialect (packages/core/src/dialects/*.ts) ----

const MOH_INVALID: Want = { status: 200, body: '{"version":"v2","code":1,"message":"Invalid Request","result":null}' };
const MOH_METHOD: Want = { status: 200, body: '{"version":"v2","code":6,"message":"Method Not Allowed","result":null}', allow: 'POST' };
const MOH_BAD_CREDENTIALS: Want = { status: 200, body: '{"version":"v2","code":3,"message":"Bad Credentials","result":null}' };

const nehr = (status: number, message: string, allow?: string): Want => ({
  status,
  body: JSON.stringify({ code: status, message }),
  ...(allow === undefined ? {} : { allow }),
});
const NEHR_UNPARSEABLE = nehr(400, 'Bad Request: The request body could not be parsed.');
const NEHR_MEDIA = nehr(400, 'Bad Request: Unsupported content type.');
const NEHR_TOO_LARGE = nehr(400, 'Bad Request: The request body is too large.');

/** DRF's APIView sends `Allow` with every answer of a simplejwt view, whatever its status. */
const sj = (status: number, body: unknown): Want => ({ status, body: JSON.stringify(body), allow: 'POST, OPTIONS' });
const SJ_BAD_CREDENTIALS = sj(401, { detail: 'No active account found with the given credentials' });
const SJ_MULTIPART = sj(400, { detail: 'Multipart form parse error - malformed multipart body' });
const SJ_TOO_LARGE = sj(413, { detail: 'Request body exceeded the maximum allowed size.' });
const sjMedia = (ct: string): Want => sj(415, { detail: `Unsupported media type "${ct}" in request.` });

const peb = (status: number, message: string, id: number, allow?: string): Want => ({
  status: 200,
  body: JSON.stringify({ status, message, error_id: id }),
  ...(allow === undefined ? {} : { allow }),
});
const PEB_MISSING = peb(400, 'One of required fields is missing.', 6);
const PEB_EMPTY = peb(400, 'One of required fields is empty.', 7);
const PEB_FORMAT = peb(400, 'One of fields is improperly formatted.', 8);
const PEB_MEDIA = peb(415, 'One of fields is improperly formatted.', 8);
const PEB_TOO_LARGE = peb(413, 'One of fields is improperly formatted.', 8);

const DRF: Record<Reason, string> = {
  missing: 'This field is required.',
  blank: 'This field may not be blank.',
  null: 'This field may not be null.',
  invalid_type: 'Not a valid string.',
  too_long: 'Ensure this field has no more than 254 characters.',
};

/** The answer to field problems, listed in the dialect's field order (user, then password). */
function fieldAnswer(r: RouteCase, problems: [Field, Reason][]): Want {
  const name = (f: Field) => (f === 'id' ? r.idName : 'password');
  switch (r.dialect) {
    case 'moh':
      return MOH_INVALID;
    case 'nehr': {
      const [f, reason] = problems[0] as [Field, Reason];
      if (reason === 'missing') return nehr(400, `Bad Request: Required field '${name(f)}' is missing.`);
      if (reason === 'blank') return nehr(400, `Bad Request: Required field '${name(f)}' is empty.`);
      if (reason === 'too_long') return nehr(400, `Bad Request: Field '${name(f)}' is longer than 254 characters.`);
      return nehr(400, `Bad Request: Field '${name(f)}' must be a string.`);
    }
    case 'simplejwt':
      return sj(400, Object.fromEntries(problems.map(([f, reason]) => [name(f), [DRF[reason]]])));
    case 'peb': {
      const reasons = problems.map(([, reason]) => reason);
      if (reasons.includes('missing')) return PEB_MISSING;
      if (reasons.includes('blank')) return PEB_EMPTY;
      return PEB_FORMAT;
    }
  }
}

/** Per dialect: the answer to a body that is not what the route reads. */
function bodyAnswer(r: RouteCase, kind: 'unparseable' | 'media' | 'too_large' | 'multipart', detail = ''): Want {
  switch (r.dialect) {
    case 'moh':
      return MOH_INVALID;
    case 'nehr':
      return kind === 'media' ? NEHR_MEDIA : kind === 'too_large' ? NEHR_TOO_LARGE : NEHR_UNPARSEABLE;
    case 'peb':
      return kind === 'media' ? PEB_MEDIA : kind === 'too_large' ? PEB_TOO_LARGE : PEB_FORMAT;
    case 'simplejwt':
      if (kind === 'media') return sjMedia(detail);
      if (kind === 'too_large') return SJ_TOO_LARGE;
      if (kind === 'multipart') return SJ_MULTIPART;
      throw new Error('simplejwt unparseable bodies are checked one by one');
  }
}

function methodAnswer(r: RouteCase, method: string): Want {
  switch (r.dialect) {
    case 'moh':
      return MOH_METHOD;
    case 'nehr':
      return nehr(405, 'Method Not Allowed: Only POST is allowed.', 'POST');
    case 'simplejwt':
      return sj(405, { detail: `Method "${method}" not allowed.` });
    case 'peb':
      return peb(405, 'Only POST method is allowed.', 5, 'POST');
  }
}

function expectWant(reply: Reply, want: Want): void {
  expectAnswer(reply, want.status, want.body);
  expect(reply.headers.get('allow')).toBe(want.allow ?? null);
}

/** Asserts a successful login in the route's dialect. */
function expectLoggedIn(r: RouteCase, reply: Reply): void {
  expect(reply.status, reply.text).toBe(200);
  const body = jsonOf(reply) as Record<string, unknown>;
  switch (r.dialect) {
    case 'moh':
    case 'nehr':
      expect(body).toMatchObject({
        version: 'v2',
        code: 0,
        message: '1 Records found',
        result: { token_type: 'bearer', expires_in: 86_399 },
      });
      return;
    case 'simplejwt':
      expect(Object.keys(body)).toStrictEqual(['refresh', 'access']);
      return;
    case 'peb':
      expect(Object.keys(body)).toStrictEqual(['status', 'token', 'valid_till', 'valid_till_unix']);
      expect(body.status).toBe(200);
      expect(body.token).toMatch(HEX128);
      return;
  }
}

/** What Python's json module (quoted by DRF) says of each malformed body; never the body itself. */
const PYTHON_JSON_ERRORS: Record<string, string> = {
  '{"username":': 'Expecting value: line 1 column 13 (char 12)',
  '{username:"a"}': 'Expecting property name enclosed in double quotes: line 1 column 2 (char 1)',
  "{'a':1}": 'Expecting property name enclosed in double quotes: line 1 column 2 (char 1)',
  '{"a":1,}': 'Expecting property name enclosed in double quotes: line 1 column 8 (char 7)',
  nope: 'Expecting value: line 1 column 1 (char 0)',
  '{"a":1} x': 'Extra data: line 1 column 9 (char 8)',
  ' ': 'Expecting value: line 1 column 2 (char 1)',
  '\n\t ': 'Expecting value: line 2 column 3 (char 3)',
};

function jsonParseMessage(text: string): string {
  const msg = PYTHON_JSON_ERRORS[text];
  if (msg === undefined) throw new Error(`no expected message for ${JSON.stringify(text)}`);
  return msg;
}

/** A JSON body of exactly `size` bytes holding the route's good credentials. */
function paddedJson(r: RouteCase, size: number): string {
  const base = JSON.stringify({ [r.idName]: r.id, password: r.password, pad: '' });
  const out = JSON.stringify({ [r.idName]: r.id, password: r.password, pad: 'x'.repeat(size - Buffer.byteLength(base)) });
  expect(Buffer.byteLength(out)).toBe(size);
  return out;
}

describe.each(RUNTIMES)('bad input on every login route on %s', (runtime) => {
  let stack: Stack;
  aroundAll(async (runSuite) => {
    await using started = await startStack({}, { runtime });
    stack = started;
    // A user whose username and password are digits, to show where JSON numbers are accepted.
    await stack.users.create({ username: '12345', passwordHash: await stack.hasher.hash('67890') });
    await runSuite();
  });

  const json = (path: string, value: unknown) => postJson(stack.base, path, value);

  describe.each(ROUTE_CASES)('$dialect $path', (r) => {
    const good = () => ({ [r.idName]: r.id, password: r.password });
    const withId = (v: unknown) => ({ [r.idName]: v, password: r.password });
    const withPassword = (v: unknown) => ({ [r.idName]: r.id, password: v });

    it('accepts the good JSON request (control)', async () => {
      expectLoggedIn(r, await json(r.path, good()));
    });

    it('lone surrogates (JSON \\ud800 escapes) in both fields, past the lockout threshold: answered in dialect, never an internal error', async () => {
      const text = `{"username":"\\ud800${r.dialect}","password":"\\udfff"}`;
      await stack.settleLogs();
      const marks = stack.logs.length;
      for (let i = 0; i < 7; i++) {
        const reply = await send(stack.base, r.path, { body: text, contentType: 'application/json' });
        expect(serverFailure(r.path, reply.status, reply.text), reply.text).toBeNull();
      }
      await stack.settleLogs();
      expect(stack.logs.slice(marks).filter((l) => l.includes('"level":"error"'))).toStrictEqual([]);
    });

    it.each<[string, (r: RouteCase) => Record<string, unknown>, [Field, Reason][]]>([
      ['user field missing', (c) => ({ password: c.password }), [['id', 'missing']]],
      ['password missing', (c) => ({ [c.idName]: c.id }), [['password', 'missing']]],
      [
        'both missing',
        () => ({}),
        [
          ['id', 'missing'],
          ['password', 'missing'],
        ],
      ],
      [
        'only unknown fields',
        () => ({ login: 'x', pass: 'y' }),
        [
          ['id', 'missing'],
          ['password', 'missing'],
        ],
      ],
      ['user field blank', (c) => ({ [c.idName]: '', password: c.password }), [['id', 'blank']]],
      // an identifier is kept in Redis (lockout state) before anyone knows it names a user: 254 characters at most
      ['user field 255 characters', (c) => ({ [c.idName]: long(c, 255), password: c.password }), [['id', 'too_long']]],
      ['user field 7000 characters', (c) => ({ [c.idName]: long(c, 7000), password: c.password }), [['id', 'too_long']]],
      ['password blank', (c) => ({ [c.idName]: c.id, password: '' }), [['password', 'blank']]],
      ['user field white space', (c) => ({ [c.idName]: '  \t ', password: c.password }), [['id', 'blank']]],
      ['password white space', (c) => ({ [c.idName]: c.id, password: ' \n ' }), [['password', 'blank']]],
      ['user field null', (c) => ({ [c.idName]: null, password: c.password }), [['id', 'null']]],
      ['password null', (c) => ({ [c.idName]: c.id, password: null }), [['password', 'null']]],
      ['user field true', (c) => ({ [c.idName]: true, password: c.password }), [['id', 'invalid_type']]],
      ['password false', (c) => ({ [c.idName]: c.id, password: false }), [['password', 'invalid_type']]],
      ['user field an object', (c) => ({ [c.idName]: { name: c.id }, password: c.password }), [['id', 'invalid_type']]],
      ['password an object', (c) => ({ [c.idName]: c.id, password: {} }), [['password', 'invalid_type']]],
      ['user field an array', (c) => ({ [c.idName]: [c.id], password: c.password }), [['id', 'invalid_type']]],
      ['password an array', (c) => ({ [c.idName]: c.id, password: [] }), [['password', 'invalid_type']]],
      [
        'user missing, password blank',
        () => ({ password: '' }),
        [
          ['id', 'missing'],
          ['password', 'blank'],
        ],
      ],
      [
        'user blank, password null',
        (c) => ({ [c.idName]: ' ', password: null }),
        [
          ['id', 'blank'],
          ['password', 'null'],
        ],
      ],
      [
        'user an array, password an object',
        () => ({ [r.idName]: [], password: { a: 1 } }),
        [
          ['id', 'invalid_type'],
          ['password', 'invalid_type'],
        ],
      ],
    ])('JSON: %s', async (_title, body, problems) => {
      expectWant(await json(r.path, body(r)), fieldAnswer(r, problems));
    });

    it('JSON numbers: refused as the wrong type, except by simplejwt (DRF CharField takes them)', async () => {
      const numId = await json(r.path, withId(12345));
      const numPassword = await json(r.path, withPassword(67890));
      const both = await json(r.path, { [r.idName]: 12345, password: 67890 });
      if (r.dialect === 'simplejwt') {
        expectWant(numId, SJ_BAD_CREDENTIALS);
        expectWant(numPassword, SJ_BAD_CREDENTIALS);
        expectLoggedIn(r, both);
      } else {
        expectWant(numId, fieldAnswer(r, [['id', 'invalid_type']]));
        expectWant(numPassword, fieldAnswer(r, [['password', 'invalid_type']]));
        expectWant(
          both,
          fieldAnswer(r, [
            ['id', 'invalid_type'],
            ['password', 'invalid_type'],
          ]),
        );
      }
    });

    it('surrounding white space: trimmed by simplejwt only', async () => {
      const padded = await json(r.path, { [r.idName]: ` ${r.id} `, password: ` ${r.password}\t` });
      if (r.dialect === 'simplejwt') expectLoggedIn(r, padded);
      else if (r.dialect === 'moh') expectWant(padded, MOH_BAD_CREDENTIALS);
      else if (r.dialect === 'nehr') expectWant(padded, nehr(401, 'Unauthorized: Access is denied due to invalid credentials.'));
      // PEB trims and case-folds the email, but never the password.
      else expectWant(padded, peb(401, 'User with given credentials not found.', 11));
    });

    it.each(['{"username":', '{username:"a"}', "{'a':1}", '{"a":1,}', 'nope', '{"a":1} x', ' ', '\n\t '])(
      'malformed JSON %j',
      async (text) => {
        const reply = await send(stack.base, r.path, { body: text, contentType: 'application/json' });
        const want =
          r.dialect === 'simplejwt' ? sj(400, { detail: `JSON parse error - ${jsonParseMessage(text)}` }) : bodyAnswer(r, 'unparseable');
        expectWant(reply, want);
      },
    );

    // Nesting deeper than 64 levels is malformed JSON (packages/core/src/body.ts, MAX_JSON_DEPTH).
    it.each([
      ['16,000 unclosed [', '['.repeat(16_000), 'line 1 column 65 (char 64)'],
      ['8,000 [ closed', `${'['.repeat(8000)}${']'.repeat(8000)}`, 'line 1 column 65 (char 64)'],
      ['2,000 objects in objects', `${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}`, 'line 1 column 321 (char 320)'],
    ])('JSON nested too deep: %s', async (_, text, where) => {
      const reply = await send(stack.base, r.path, { body: text, contentType: 'application/json' });
      const want =
        r.dialect === 'simplejwt'
          ? sj(400, { detail: `JSON parse error - Nesting deeper than 64 levels: ${where}` })
          : bodyAnswer(r, 'unparseable');
      expectWant(reply, want);
    });

    it.each([
      ['[1,2]', 'list'],
      ['[]', 'list'],
      ['"text"', 'str'],
      ['42', 'int'],
      ['4.5', 'float'],
      ['true', 'bool'],
      ['null', 'NoneType'],
    ])('JSON body that is not an object: %s', async (text, pyType) => {
      const reply = await send(stack.base, r.path, { body: text, contentType: 'application/json' });
      // DRF: a JSON null is "no data"; anything else not a dict is "invalid data".
      const drf = pyType === 'NoneType' ? 'No data provided' : `Invalid data. Expected a dictionary, but got ${pyType}.`;
      const want = r.dialect === 'simplejwt' ? sj(400, { non_field_errors: [drf] }) : bodyAnswer(r, 'unparseable');
      expectWant(reply, want);
    });

    it('JSON that is not UTF-8', async () => {
      const body = concat('{"', r.idName, '":"', new Uint8Array([0xff, 0xfe]), '","password":"x"}');
      const reply = await send(stack.base, r.path, { body, contentType: 'application/json' });
      const want =
        r.dialect === 'simplejwt'
          ? sj(400, { detail: "JSON parse error - 'utf-8' codec can't decode the body" })
          : bodyAnswer(r, 'unparseable');
      expectWant(reply, want);
    });

    it.each([
      ['text/plain', 'username=a&password=b'],
      ['text/plain;charset=UTF-8', '{"username":"a","password":"b"}'],
      ['application/xml', '<login><username>a</username><password>b</password></login>'],
      ['text/html', '<p>hi</p>'],
      ['application/octet-stream', 'binary'],
      ['application/json; charset=iso-8859-1', '{"username":"a","password":"b"}'],
      ['application/json; charset=utf-16', '{"username":"a","password":"b"}'],
      ['application/x-www-form-urlencoded; charset=latin1', 'username=a&password=b'],
    ])('unsupported content type %s', async (ct, body) => {
      const reply = await send(stack.base, r.path, { body, contentType: ct });
      expectWant(reply, bodyAnswer(r, 'media', ct));
    });

    it('a body without a content type is an unsupported media type', async () => {
      const reply = await send(stack.base, r.path, { body: JSON.stringify(good()) });
      expectWant(reply, bodyAnswer(r, 'media', ''));
    });

    it('an empty body, with or without a content type, is missing both fields', async () => {
      const both: [Field, Reason][] = [
        ['id', 'missing'],
        ['password', 'missing'],
      ];
      expectWant(await send(stack.base, r.path, {}), fieldAnswer(r, both));
      expectWant(await send(stack.base, r.path, { body: '', contentType: 'application/json' }), fieldAnswer(r, both));
      expectWant(await send(stack.base, r.path, { body: '', contentType: 'application/x-www-form-urlencoded' }), fieldAnswer(r, both));
    });

    it('charset utf-8 in any spelling and case, and odd media type case, are accepted', async () => {
      for (const ct of ['application/json; charset=utf-8', 'application/json;charset=UTF-8', 'Application/JSON; Charset="utf8"']) {
        expectLoggedIn(r, await send(stack.base, r.path, { body: JSON.stringify(good()), contentType: ct }));
      }
    });

    it('a body just under the limit (16383 bytes) is read, not refused as too large', async () => {
      expectLoggedIn(r, await send(stack.base, r.path, { body: paddedJson(r, 16_383), contentType: 'application/json' }));
      const form = new URLSearchParams(good());
      form.set('pad', 'y'.repeat(16_383 - bytes(`${form.toString()}&pad=`).byteLength));
      expect(bytes(form.toString()).byteLength).toBe(16_383);
      expectLoggedIn(r, await send(stack.base, r.path, { body: form.toString(), contentType: 'application/x-www-form-urlencoded' }));
    });

    it('a body one byte over the limit is refused as too large', async () => {
      const reply = await send(stack.base, r.path, { body: paddedJson(r, 16_385), contentType: 'application/json' });
      expectWant(reply, bodyAnswer(r, 'too_large'));
    });

    it('a large body (1 MiB) is refused as too large, connection intact', async () => {
      const reply = await send(stack.base, r.path, { body: `{"pad":"${'z'.repeat(1024 * 1024)}"}`, contentType: 'application/json' });
      expectWant(reply, bodyAnswer(r, 'too_large'));
      // The server still answers afterwards.
      expectLoggedIn(r, await json(r.path, good()));
    });

    it.each(['GET', 'PUT', 'DELETE', 'PATCH'])('method %s is refused with Allow', async (method) => {
      const body = method === 'GET' ? undefined : JSON.stringify(good());
      const reply = await send(stack.base, r.path, { method, body, contentType: body === undefined ? undefined : 'application/json' });
      expectWant(reply, methodAnswer(r, method));
    });

    it('method OPTIONS: simplejwt describes the view, the others refuse it', async () => {
      const reply = await send(stack.base, r.path, { method: 'OPTIONS' });
      if (r.dialect !== 'simplejwt') {
        expectWant(reply, methodAnswer(r, 'OPTIONS'));
        return;
      }
      expectWant(
        reply,
        sj(200, {
          name: 'Token Obtain Pair',
          description:
            'Takes a set of user credentials and returns an access and refresh JSON web\ntoken pair to prove the authentication of those credentials.',
          renders: ['application/json', 'text/html'],
          parses: ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data'],
          actions: {
            POST: {
              username: { type: 'string', required: true, read_only: false, label: 'Username' },
              password: { type: 'string', required: true, read_only: false, label: 'Password' },
            },
          },
        }),
      );
    });

    it('urlencoded: good credentials log in; missing, blank and white-space fields get the field answers', async () => {
      const form = (fields: Record<string, string>) =>
        send(stack.base, r.path, { body: new URLSearchParams(fields).toString(), contentType: 'application/x-www-form-urlencoded' });
      expectLoggedIn(r, await form(good()));
      expectLoggedIn(r, await send(stack.base, r.path, { body: new URLSearchParams(good()) }));
      expectWant(await form({ password: r.password }), fieldAnswer(r, [['id', 'missing']]));
      expectWant(await form({ [r.idName]: r.id }), fieldAnswer(r, [['password', 'missing']]));
      expectWant(await form({ [r.idName]: '', password: r.password }), fieldAnswer(r, [['id', 'blank']]));
      expectWant(await form({ [r.idName]: r.id, password: '   ' }), fieldAnswer(r, [['password', 'blank']]));
    });

    it('urlencoded: the last repetition of a field wins', async () => {
      const body = `${r.idName}=nobody&${r.idName}=${encodeURIComponent(r.id)}&password=${encodeURIComponent(r.password)}`;
      expectLoggedIn(r, await send(stack.base, r.path, { body, contentType: 'application/x-www-form-urlencoded' }));
    });

    it('takes an identifier of 254 characters (the longest email) as any other: an unknown user, and nothing of it kept', async () => {
      const keysBefore = (await keysMatching(stack.redis, `${stack.settings.redisPrefix}*`)).length;
      const refused = await json(r.path, { [r.idName]: long(r, 255), password: 'x' });
      expect(refused.status).toBeLessThan(500);
      expect((await keysMatching(stack.redis, `${stack.settings.redisPrefix}*`)).length).toBe(keysBefore);
      const reply = await json(r.path, { [r.idName]: long(r, 254), password: 'x' });
      const want = {
        moh: MOH_BAD_CREDENTIALS,
        nehr: nehr(401, 'Unauthorized: Access is denied due to invalid credentials.'),
        simplejwt: SJ_BAD_CREDENTIALS,
        peb: peb(401, 'User with given credentials not found.', 11),
      }[r.dialect];
      expectWant(reply, want);
    });

    it('urlencoded that is not UTF-8 decodes leniently (U+FFFD), as Django QueryDict does: an unknown user', async () => {
      const body = concat(`${r.idName}=`, new Uint8Array([0xc3, 0x28]), `&password=${encodeURIComponent(r.password)}`);
      const reply = await send(stack.base, r.path, { body, contentType: 'application/x-www-form-urlencoded' });
      const want = {
        moh: MOH_BAD_CREDENTIALS,
        nehr: nehr(401, 'Unauthorized: Access is denied due to invalid credentials.'),
        simplejwt: SJ_BAD_CREDENTIALS,
        // "\uFFFD(" is no email address
        peb: PEB_FORMAT,
      }[r.dialect];
      expectWant(reply, want);
    });

    it('multipart: good credentials log in (FormData and a hand-written body)', async () => {
      const fd = new FormData();
      fd.set(r.idName, r.id);
      fd.set('password', r.password);
      expectLoggedIn(r, await send(stack.base, r.path, { body: fd }));
      const body = multipart('b0undary', [
        { name: r.idName, value: r.id },
        { name: 'password', value: r.password },
      ]);
      expectLoggedIn(r, await send(stack.base, r.path, { body, contentType: 'multipart/form-data; boundary=b0undary' }));
      expectLoggedIn(r, await send(stack.base, r.path, { body, contentType: 'multipart/form-data; boundary="b0undary"' }));
    });

    it('multipart: missing and blank fields get the field answers', async () => {
      const mp = (parts: { name: string; value: string }[]) =>
        send(stack.base, r.path, { body: multipart('XyZ', parts), contentType: 'multipart/form-data; boundary=XyZ' });
      expectWant(await mp([{ name: 'password', value: r.password }]), fieldAnswer(r, [['id', 'missing']]));
      expectWant(
        await mp([
          { name: r.idName, value: r.id },
          { name: 'password', value: '' },
        ]),
        fieldAnswer(r, [['password', 'blank']]),
      );
    });

    it('multipart: a file where text is expected is the wrong type', async () => {
      const body = multipart('XyZ', [
        { name: r.idName, value: r.id },
        { name: 'password', value: r.password, filename: 'password.txt' },
      ]);
      const reply = await send(stack.base, r.path, { body, contentType: 'multipart/form-data; boundary=XyZ' });
      expectWant(reply, fieldAnswer(r, [['password', 'invalid_type']]));
    });

    it.each<[string, string, string | Uint8Array]>([
      ['no boundary parameter', 'multipart/form-data', multipart('XyZ', [{ name: 'password', value: 'x' }])],
      ['a boundary the body does not use', 'multipart/form-data; boundary=other', multipart('XyZ', [{ name: 'password', value: 'x' }])],
      ['no closing delimiter', 'multipart/form-data; boundary=XyZ', '--XyZ\r\nContent-Disposition: form-data; name="password"\r\n\r\nx'],
      ['a part without a name', 'multipart/form-data; boundary=XyZ', '--XyZ\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XyZ--\r\n'],
      ['a part header without a colon', 'multipart/form-data; boundary=XyZ', '--XyZ\r\nbroken header\r\n\r\nx\r\n--XyZ--\r\n'],
      [
        'a part that is not form-data',
        'multipart/form-data; boundary=XyZ',
        '--XyZ\r\nContent-Disposition: attachment; name="a"\r\n\r\nx\r\n--XyZ--\r\n',
      ],
      ['plain text', 'multipart/form-data; boundary=XyZ', 'username=a&password=b'],
      [
        'a text part that is not UTF-8',
        'multipart/form-data; boundary=XyZ',
        concat('--XyZ\r\nContent-Disposition: form-data; name="password"\r\n\r\n', new Uint8Array([0xff]), '\r\n--XyZ--\r\n'),
      ],
    ])('malformed multipart: %s', async (_title, ct, body) => {
      const reply = await send(stack.base, r.path, { body, contentType: ct });
      expectWant(reply, bodyAnswer(r, 'multipart'));
    });
  });

  describe('body transport, every route at once', () => {
    /** 'ok' when the route logged in, else what went wrong: one assertion names every failing route. */
    async function perRoute(check: (r: RouteCase) => Promise<void>): Promise<Record<string, string>> {
      const out: Record<string, string> = {};
      await Promise.all(
        ROUTE_CASES.map(async (r) => {
          try {
            await check(r);
            out[r.path] = 'ok';
          } catch (err) {
            out[r.path] = (err as Error).message.split('\n')[0] ?? '';
          }
        }),
      );
      return out;
    }
    const allOk = Object.fromEntries(ROUTE_CASES.map((r) => [r.path, 'ok']));

    it('a JSON body of exactly the limit (16384 bytes) is read and answered', async () => {
      const result = await perRoute(async (r) => {
        expectLoggedIn(
          r,
          await send(stack.base, r.path, { body: paddedJson(r, 16_384), contentType: 'application/json', timeoutMs: 5000 }),
        );
      });
      expect(result).toStrictEqual(allOk);
    });

    it('a chunked body (no Content-Length) under the limit is read', async () => {
      const result = await perRoute(async (r) => {
        const text = JSON.stringify({ [r.idName]: r.id, password: r.password });
        const stream = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(bytes(text.slice(0, 5)));
            controller.enqueue(bytes(text.slice(5)));
            controller.close();
          },
        });
        expectLoggedIn(r, await send(stack.base, r.path, { body: stream, contentType: 'application/json', timeoutMs: 5000 }));
      });
      expect(result).toStrictEqual(allOk);
    });

    it('a chunked body (no Content-Length) over the limit is refused as too large', async () => {
      const result = await perRoute(async (r) => {
        let sent = 0;
        const stream = new ReadableStream<Uint8Array>({
          pull(controller) {
            if (sent === 0) controller.enqueue(bytes(`{"${r.idName}":"${r.id}","password":"${r.password}","pad":"`));
            if (sent >= 5) {
              controller.enqueue(bytes('"}'));
              controller.close();
              return;
            }
            controller.enqueue(bytes('x'.repeat(4096)));
            sent += 1;
          },
        });
        expectWant(
          await send(stack.base, r.path, { body: stream, contentType: 'application/json', timeoutMs: 5000 }),
          bodyAnswer(r, 'too_large'),
        );
      });
      expect(result).toStrictEqual(allOk);
    });
  });

  describe('peb identifiers', () => {
    const PW = DEMO.peb.password;
    const PW2 = DEMO.pebByName.password;
    const peb1 = (body: Record<string, unknown>) => json('/v1/login', body);
    const ok = ROUTE_CASES[4] as RouteCase;

    it('logs in by email, by username and by user holding either, email case-folded', async () => {
      expectLoggedIn(ok, await peb1({ email: 'someone@example.com', password: PW }));
      expectLoggedIn(ok, await peb1({ email: ' SomeOne@Example.COM ', password: PW }));
      expectLoggedIn(ok, await peb1({ username: 'someone.example', password: PW2 }));
      expectLoggedIn(ok, await peb1({ username: 'someone', password: PW }));
      expectLoggedIn(ok, await peb1({ user: 'someone@example.com', password: PW }));
      expectLoggedIn(ok, await peb1({ user: 'SOMEONE@example.com', password: PW }));
      expectLoggedIn(ok, await peb1({ user: 'someone.example', password: PW2 }));
      const form = new URLSearchParams({ user: 'someone.example', password: PW2 });
      expectLoggedIn(ok, await send(stack.base, '/v1/login', { body: form }));
    });

    it('document 003: an improperly formatted email is error 8', async () => {
      const reply = await peb1({ email: 'someone@example', password: '7h3se94ssw0rds4re8ad' });
      expectWant(reply, peb(400, 'One of fields is improperly formatted.', 8));
      expect(reply.text).toBe('{"status":400,"message":"One of fields is improperly formatted.","error_id":8}');
      for (const email of ['someone', '@example.com', 'a@@example.com', 'a b@example.com', 'someone@example.', 'someone@.com']) {
        expectWant(await peb1({ email, password: PW }), PEB_FORMAT);
      }
      expectWant(await peb1({ user: 'someone@example', password: PW }), PEB_FORMAT);
    });

    it('document 003: a missing password is error 6, a blank one error 7', async () => {
      expectWant(await peb1({ email: 'someone@example.com' }), PEB_MISSING);
      expectWant(await peb1({ user: 'someone@example.com', password: '' }), PEB_EMPTY);
      expectWant(await peb1({ user: '', password: PW }), PEB_EMPTY);
      // Missing beats empty beats malformed.
      expectWant(await peb1({ email: 'someone@example', password: '' }), PEB_EMPTY);
      expectWant(await peb1({ email: '' }), PEB_MISSING);
    });

    it('document 003: GET is error 5 with HTTP 200', async () => {
      const reply = await send(stack.base, '/v1/login', { method: 'GET' });
      expect(reply.status).toBe(200);
      expect(reply.text).toBe('{"status":405,"message":"Only POST method is allowed.","error_id":5}');
      expect(reply.headers.get('allow')).toBe('POST');
    });

    it('a username given as email (no @) is improperly formatted', async () => {
      expectWant(await peb1({ email: 'someone.example', password: PW2 }), PEB_FORMAT);
    });
  });

  describe('paths', () => {
    const NOT_FOUND = '{"error":"not_found","message":"No such route."}';

    it.each([
      ['POST', '/nope'],
      ['GET', '/'],
      ['POST', '/moh/getUserToken'],
      ['POST', '/getusertoken'],
      ['POST', '/api/tokens'],
      ['POST', '/v1/login/nope'],
      ['DELETE', '/nehrapi/login'],
    ])('%s %s is a JSON 404', async (method, path) => {
      const reply = await send(stack.base, path, { method, body: method === 'POST' ? '{}' : undefined, contentType: 'application/json' });
      expect({ status: reply.status, body: reply.text }).toStrictEqual({ status: 404, body: NOT_FOUND });
      expect(reply.headers.get('content-type')).toBe('application/json');
    });

    it('the query string does not change the route', async () => {
      expectLoggedIn(ROUTE_CASES[0] as RouteCase, await json('/getUserToken?x=1', ROUTES.moh.creds));
    });
  });
});

describe.each(RUNTIMES)('PEB with TESSERA_PEB_MIRROR_STATUS=1 on %s', (runtime) => {
  let stack: Stack;
  aroundAll(async (runSuite) => {
    await using started = await startStack({ TESSERA_PEB_MIRROR_STATUS: '1' }, { runtime });
    stack = started;
    await runSuite();
  });
  const err = (status: number, message: string, id: number) => JSON.stringify({ status, message, error_id: id });

  it('sends the body status as the HTTP status', async () => {
    const ok = await postJson(stack.base, '/v1/login', ROUTES.peb.creds);
    expect(ok.status).toBe(200);
    expect((jsonOf(ok) as { status: number }).status).toBe(200);
    expectAnswer(
      await postJson(stack.base, '/v1/login', { email: 'someone@example.com', password: 'wrong' }),
      401,
      err(401, 'User with given credentials not found.', 11),
    );
    expectAnswer(
      await postJson(stack.base, '/v1/login', { email: 'someone@example.com' }),
      400,
      err(400, 'One of required fields is missing.', 6),
    );
    expectAnswer(
      await postJson(stack.base, '/v1/login', { email: ' ', password: 'x' }),
      400,
      err(400, 'One of required fields is empty.', 7),
    );
    expectAnswer(
      await postJson(stack.base, '/v1/login', { email: 'someone@example', password: 'x' }),
      400,
      err(400, 'One of fields is improperly formatted.', 8),
    );
    expectAnswer(
      await send(stack.base, '/v1/login', { body: 'x', contentType: 'text/plain' }),
      415,
      err(415, 'One of fields is improperly formatted.', 8),
    );
    const big = await send(stack.base, '/v1/login', { body: `{"pad":"${'p'.repeat(20_000)}"}`, contentType: 'application/json' });
    expectAnswer(big, 413, err(413, 'One of fields is improperly formatted.', 8));
    const down = await postJson(stack.base, '/v1/login', { email: 'someone@example.com', password: 'x', extra: 1 });
    expectAnswer(down, 401, err(401, 'User with given credentials not found.', 11));
    const get = await send(stack.base, '/v1/login', { method: 'GET' });
    expectAnswer(get, 405, err(405, 'Only POST method is allowed.', 5));
    expect(get.headers.get('allow')).toBe('POST');
  });

  it('leaves the other dialects alone', async () => {
    expectAnswer(await postJson(stack.base, '/getUserToken', { username: 'x', password: 'y' }), 200, MOH_BAD_CREDENTIALS.body);
    expectAnswer(
      await postJson(stack.base, '/nehrapi/login/getToken', { username: 'x', password: 'y' }),
      401,
      '{"code":401,"message":"Unauthorized: Access is denied due to invalid credentials."}',
    );
  });
});

describe.each(RUNTIMES)('moh route moved with TESSERA_MOH_BASE=/moh on %s', (runtime) => {
  let stack: Stack;
  aroundAll(async (runSuite) => {
    await using started = await startStack({ TESSERA_MOH_BASE: '/moh' }, { runtime });
    stack = started;
    await runSuite();
  });

  it('answers on /moh/getUserToken, and /getUserToken is a JSON 404', async () => {
    expectLoggedIn(ROUTE_CASES[0] as RouteCase, await postJson(stack.base, '/moh/getUserToken', ROUTES.moh.creds));
    expectAnswer(await postJson(stack.base, '/moh/getUserToken', { username: 'MOH-90008' }), 200, MOH_INVALID.body);
    const get = await send(stack.base, '/moh/getUserToken', { method: 'GET' });
    expectWant(get, MOH_METHOD);
    const old = await postJson(stack.base, '/getUserToken', ROUTES.moh.creds);
    expect({ status: old.status, body: old.text }).toStrictEqual({ status: 404, body: '{"error":"not_found","message":"No such route."}' });
  });

  it('leaves the nehr route where it is', async () => {
    expectLoggedIn(ROUTE_CASES[1] as RouteCase, await postJson(stack.base, '/nehrapi/login/getToken', ROUTES.nehr.creds));
  });
});

describe.each(RUNTIMES)('with TESSERA_BODY_LIMIT=65536 on %s', (runtime) => {
  let stack: Stack;
  aroundAll(async (runSuite) => {
    await using started = await startStack({ TESSERA_BODY_LIMIT: '65536' }, { runtime });
    stack = started;
    await runSuite();
  });

  it('a 20000-byte body is under the limit: read and answered', async () => {
    const r = ROUTE_CASES[2] as RouteCase;
    expectLoggedIn(r, await send(stack.base, r.path, { body: paddedJson(r, 20_000), contentType: 'application/json', timeoutMs: 5000 }));
  });

  it('a body over the new limit is refused as too large', async () => {
    const r = ROUTE_CASES[2] as RouteCase;
    expectWant(await send(stack.base, r.path, { body: paddedJson(r, 65_537), contentType: 'application/json' }), SJ_TOO_LARGE);
  });
});
