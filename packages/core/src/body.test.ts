import { describe, expect, it } from 'vitest';
import { bytes, concat, FORM_CT, JSON_CT, multipart } from '../test/fixtures.ts';
import { ACCEPTED_MEDIA_TYPES, decodeBody, decodeMultipart, jsonErrorDetail, MAX_JSON_DEPTH, parseContentType } from './body.ts';

const LIMIT = 16 * 1024;
const MALFORMED_MULTIPART = { ok: false, problem: { reason: 'bad_encoding', detail: 'malformed multipart body' } };

function fieldsOf(ct: string, body: Uint8Array): Record<string, unknown> {
  const r = decodeBody(ct, body, LIMIT);
  if (!r.ok) throw new Error(`expected fields, got problem ${JSON.stringify(r.problem)}`);
  return r.fields as Record<string, unknown>;
}

describe('decodeBody: empty bodies', () => {
  it('decodes an empty body to no fields whatever the content type, as DRF does', () => {
    for (const ct of ['', 'text/plain', 'application/json', 'application/xml', 'multipart/form-data']) {
      expect(decodeBody(ct, new Uint8Array(0), LIMIT)).toStrictEqual({ ok: true, fields: {} });
    }
  });
});

describe('parseContentType', () => {
  it('allows white space around parameter separators (RFC 9110 OWS)', () => {
    const ct = parseContentType('multipart/form-data ; charset="utf-8" ; boundary=XyZ');
    expect(ct.mediaType).toBe('multipart/form-data');
    expect(ct.params.boundary).toBe('XyZ');
    expect(ct.params.charset).toBe('utf-8');
  });

  it('splits media type and parameters, lower-casing type and parameter names', () => {
    const ct = parseContentType('Application/JSON; Charset=UTF-8');
    expect(ct.mediaType).toBe('application/json');
    expect(ct.params).toEqual({ charset: 'UTF-8' });
  });

  it('unquotes quoted values, keeping ; and spaces inside quotes', () => {
    const ct = parseContentType('multipart/form-data; boundary="a b;c\\"d"');
    expect(ct.mediaType).toBe('multipart/form-data');
    expect(ct.params).toEqual({ boundary: 'a b;c"d' });
  });

  it('keeps the first of repeated parameters and trims unquoted values', () => {
    expect(parseContentType('text/plain; a=1 ; a=2').params).toEqual({ a: '1' });
  });

  it('gives an empty media type for an empty header', () => {
    expect(parseContentType('')).toEqual({ mediaType: '', params: {} });
    expect(parseContentType('   ')).toEqual({ mediaType: '', params: {} });
  });

  it('lists the three accepted media types', () => {
    expect([...ACCEPTED_MEDIA_TYPES]).toStrictEqual(['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data']);
  });
});

describe('decodeBody: content type', () => {
  it('decodes an empty body without a content type as no fields', () => {
    expect(decodeBody('', new Uint8Array(0), LIMIT)).toEqual({ ok: true, fields: {} });
  });

  it('refuses a non-empty body without a content type', () => {
    expect(decodeBody('', bytes('username=a'), LIMIT)).toStrictEqual({
      ok: false,
      problem: { reason: 'unsupported_media_type', contentType: '' },
    });
  });

  it('refuses other media types, reporting the header as sent (trimmed)', () => {
    expect(decodeBody(' text/plain; charset=utf-8 ', bytes('x'), LIMIT)).toStrictEqual({
      ok: false,
      problem: { reason: 'unsupported_media_type', contentType: 'text/plain; charset=utf-8' },
    });
    expect(decodeBody('application/xml', bytes('<a/>'), LIMIT)).toStrictEqual({
      ok: false,
      problem: { reason: 'unsupported_media_type', contentType: 'application/xml' },
    });
  });

  it('accepts charset utf-8 in any case and the utf8 alias', () => {
    const body = bytes('{"username":"u"}');
    for (const cs of ['utf-8', 'UTF-8', 'utf8', '"utf-8"']) {
      expect(decodeBody(`application/json; charset=${cs}`, body, LIMIT)).toEqual({ ok: true, fields: { username: 'u' } });
    }
    expect(fieldsOf(`${FORM_CT}; charset=UTF-8`, bytes('username=u'))).toEqual({ username: 'u' });
  });

  it('refuses any other charset as an unsupported media type', () => {
    expect(decodeBody('application/json; charset=iso-8859-1', bytes('{}'), LIMIT)).toStrictEqual({
      ok: false,
      problem: { reason: 'unsupported_media_type', contentType: 'application/json; charset=iso-8859-1' },
    });
  });
});

describe('decodeBody: size limit', () => {
  it('refuses a body the adapter did not read (null), whatever the content type', () => {
    expect(decodeBody(JSON_CT, null, LIMIT)).toStrictEqual({ ok: false, problem: { reason: 'too_large' } });
    expect(decodeBody('text/plain', null, LIMIT)).toStrictEqual({ ok: false, problem: { reason: 'too_large' } });
  });

  it('accepts a body of exactly the limit and refuses one byte more', () => {
    const pad = (n: number) => bytes(`{"username":"${'a'.repeat(n - 15)}"}`);
    expect(pad(LIMIT).byteLength).toBe(LIMIT);
    expect(decodeBody(JSON_CT, pad(LIMIT), LIMIT).ok).toBe(true);
    expect(decodeBody(JSON_CT, pad(LIMIT + 1), LIMIT)).toStrictEqual({ ok: false, problem: { reason: 'too_large' } });
  });
});

describe('decodeBody: JSON', () => {
  it('decodes an object, keeping value types', () => {
    expect(decodeBody(JSON_CT, bytes('{"username":"MOH-90008","password":"Moh@-90008","n":1,"b":true,"z":null}'), LIMIT)).toStrictEqual({
      ok: true,
      fields: { username: 'MOH-90008', password: 'Moh@-90008', n: 1, b: true, z: null },
    });
  });

  it('decodes non-ASCII UTF-8 text and strips a leading BOM', () => {
    expect(fieldsOf(JSON_CT, bytes('{"username":"Jürgen Ωμέγα"}'))).toEqual({ username: 'Jürgen Ωμέγα' });
    expect(fieldsOf(JSON_CT, concat(new Uint8Array([0xef, 0xbb, 0xbf]), '{"username":"u"}'))).toEqual({ username: 'u' });
  });

  it('treats an empty JSON body as no fields', () => {
    expect(decodeBody(JSON_CT, new Uint8Array(0), LIMIT)).toEqual({ ok: true, fields: {} });
  });

  it("reports bad JSON with Python's message, never the parser's", () => {
    const cases: [string, string][] = [
      ['{"username":', 'Expecting value: line 1 column 13 (char 12)'],
      ['{username:"u"}', 'Expecting property name enclosed in double quotes: line 1 column 2 (char 1)'],
      ["{'a':1}", 'Expecting property name enclosed in double quotes: line 1 column 2 (char 1)'],
      ['{"a":1,}', 'Expecting property name enclosed in double quotes: line 1 column 8 (char 7)'],
    ];
    for (const [text, detail] of cases) {
      expect(decodeBody(JSON_CT, bytes(text), LIMIT)).toStrictEqual({ ok: false, problem: { reason: 'bad_json', detail } });
    }
  });

  it('reports a valid non-object body as not_object with the Python type name', () => {
    const cases: [string, string][] = [
      ['[1,2]', 'list'],
      ['[]', 'list'],
      ['"text"', 'str'],
      ['null', 'NoneType'],
      ['42', 'int'],
      ['4.5', 'float'],
      ['true', 'bool'],
    ];
    for (const [text, type] of cases) {
      expect(decodeBody(JSON_CT, bytes(text), LIMIT)).toStrictEqual({ ok: false, problem: { reason: 'not_object', detail: type } });
    }
  });

  it("reports invalid UTF-8 as bad JSON, as DRF's JSON parser does", () => {
    const bad = { ok: false, problem: { reason: 'bad_json', detail: "'utf-8' codec can't decode the body" } };
    const body = concat('{"username":"', new Uint8Array([0xff, 0xfe]), '"}');
    expect(decodeBody(JSON_CT, body, LIMIT)).toStrictEqual(bad);
    // an overlong encoding of "/" is invalid UTF-8 too
    expect(decodeBody(JSON_CT, concat('{"a":"', new Uint8Array([0xc0, 0xaf]), '"}'), LIMIT)).toStrictEqual(bad);
  });

  it('treats a zero-byte JSON body as no fields but white space alone as bad JSON', () => {
    expect(decodeBody(JSON_CT, new Uint8Array(0), LIMIT)).toStrictEqual({ ok: true, fields: {} });
    const r = decodeBody(JSON_CT, new TextEncoder().encode('  \n '), LIMIT);
    expect(r.ok).toBe(false);
    if (r.ok === false) expect(r.problem.reason).toBe('bad_json');
  });

  it('keeps the last of repeated keys', () => {
    expect(fieldsOf(JSON_CT, bytes('{"username":"a","username":"b"}'))).toEqual({ username: 'b' });
  });
});

describe('decodeBody: urlencoded', () => {
  it('agrees with the WHATWG parser (URLSearchParams) on 5000 generated bodies', () => {
    const pieces = ['a', 'b', 'é', '€', ' ', '=', '&', '&&', '+', '%', '%2', '%20', '%2B', '%C3%A9', '%E2%82', '%ZZ', '%FF', '%e2%82%ac'];
    let seed = 42;
    const next = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed;
    };
    for (let i = 0; i < 5000; i++) {
      let text = 'k';
      for (let n = next() % 12; n > 0; n--) text += pieces[next() % pieces.length];
      const reference: Record<string, string> = {};
      for (const [k, v] of new URLSearchParams(text)) reference[k] = v;
      expect({ text, fields: { ...fieldsOf(FORM_CT, bytes(text)) } }).toStrictEqual({ text, fields: reference });
    }
  });

  it('decodes + as space and percent escapes as UTF-8', () => {
    expect(fieldsOf(FORM_CT, bytes('username=MOH-90008&password=p%40ss+word%21&name=J%C3%BCrgen&plus=a%2Bb'))).toEqual({
      username: 'MOH-90008',
      password: 'p@ss word!',
      name: 'Jürgen',
      plus: 'a+b',
    });
  });

  it('keeps the last of repeated keys', () => {
    expect(fieldsOf(FORM_CT, bytes('username=first&password=x&username=last'))).toEqual({ username: 'last', password: 'x' });
  });

  it('gives empty strings for valueless keys and no fields for an empty body', () => {
    expect(fieldsOf(FORM_CT, bytes('username=&password'))).toEqual({ username: '', password: '' });
    expect(fieldsOf(FORM_CT, new Uint8Array(0))).toEqual({});
  });

  it('keeps every value a string', () => {
    const f = fieldsOf(FORM_CT, bytes('n=1&b=true&z=null'));
    expect(f).toEqual({ n: '1', b: 'true', z: 'null' });
  });

  it("decodes raw invalid UTF-8 leniently, as Django's QueryDict does", () => {
    expect(decodeBody(FORM_CT, concat('username=', new Uint8Array([0xff])), LIMIT)).toStrictEqual({
      ok: true,
      fields: Object.assign(Object.create(null), { username: '\uFFFD' }),
    });
  });
});

describe('decodeBody: multipart', () => {
  const ct = (b: string) => `multipart/form-data; boundary=${b}`;

  it('decodes text parts as strings and file parts as UploadedFile markers', () => {
    const body = multipart('XyZ123', [
      { name: 'username', value: 'MOH-90008' },
      { name: 'password', value: 'Moh@-90008' },
      { name: 'avatar', value: new Uint8Array([0, 1, 2, 0xff, 13, 10]), filename: 'me.png' },
      { name: 'note', value: 'line1\r\nline2 Ωμέγα' },
    ]);
    expect(decodeBody(ct('XyZ123'), body, LIMIT)).toEqual({
      ok: true,
      fields: {
        username: 'MOH-90008',
        password: 'Moh@-90008',
        avatar: { kind: 'file', filename: 'me.png', size: 6 },
        note: 'line1\r\nline2 Ωμέγα',
      },
    });
  });

  it('accepts a quoted boundary, a preamble and an empty value; last repeated name wins', () => {
    const body = concat(
      'preamble text\r\n',
      multipart('a b', [
        { name: 'username', value: 'x' },
        { name: 'username', value: '' },
      ]),
    );
    expect(fieldsOf('multipart/form-data; boundary="a b"', body)).toEqual({ username: '' });
  });

  it('matches the boundary case-sensitively, so the adapter must pass the header unlowered', () => {
    const boundary = '----WebKitFormBoundary7MA4YWxkTrZu0gW';
    const body = multipart(boundary, [{ name: 'username', value: 'u' }]);
    expect(fieldsOf(`Multipart/Form-Data; boundary=${boundary}`, body)).toEqual({ username: 'u' });
    expect(decodeBody(ct(boundary).toLowerCase(), body, LIMIT)).toStrictEqual(MALFORMED_MULTIPART);
  });

  it('ignores part headers other than Content-Disposition', () => {
    const body = bytes('--b\r\nContent-Type: text/plain\r\nContent-Disposition: form-data; name="username"\r\n\r\nu\r\n--b--\r\n');
    expect(fieldsOf(ct('b'), body)).toEqual({ username: 'u' });
  });

  it('decodes a body with no parts as no fields', () => {
    expect(fieldsOf(ct('b'), bytes('--b--\r\n'))).toEqual({});
  });

  it('refuses a multipart content type without a boundary, or with an empty or over-long one', () => {
    const body = multipart('b', [{ name: 'username', value: 'u' }]);
    expect(decodeBody('multipart/form-data', body, LIMIT)).toStrictEqual(MALFORMED_MULTIPART);
    expect(decodeBody('multipart/form-data; boundary=', body, LIMIT)).toStrictEqual(MALFORMED_MULTIPART);
    const long = 'x'.repeat(71);
    expect(decodeBody(ct(long), multipart(long, [{ name: 'u', value: 'u' }]), LIMIT)).toStrictEqual(MALFORMED_MULTIPART);
    const max = 'x'.repeat(70);
    expect(decodeBody(ct(max), multipart(max, [{ name: 'u', value: 'v' }]), LIMIT)).toEqual({ ok: true, fields: { u: 'v' } });
  });

  it('refuses a body whose delimiter is not the announced boundary', () => {
    expect(decodeBody(ct('other'), multipart('b', [{ name: 'username', value: 'u' }]), LIMIT)).toStrictEqual(MALFORMED_MULTIPART);
  });

  it('refuses a delimiter not followed by CRLF', () => {
    expect(decodeMultipart(bytes('--bX\r\nContent-Disposition: form-data; name="a"\r\n\r\nv\r\n--b--'), 'b')).toStrictEqual(
      MALFORMED_MULTIPART,
    );
  });

  it('refuses truncated bodies', () => {
    const full = multipart('b', [{ name: 'username', value: 'MOH-90008' }]);
    const text = new TextDecoder().decode(full);
    // cut inside the closing delimiter, inside the content, inside the headers, right after the first delimiter
    for (const cut of [text.length - 4, text.indexOf('MOH') + 2, text.indexOf('name='), 5]) {
      expect(decodeMultipart(full.subarray(0, cut), 'b')).toStrictEqual(MALFORMED_MULTIPART);
    }
  });

  it('refuses a part without a name, with a non form-data disposition, or with a header line lacking a colon', () => {
    const bad = [
      '--b\r\nContent-Disposition: form-data\r\n\r\nv\r\n--b--',
      '--b\r\nContent-Disposition: attachment; name="a"\r\n\r\nv\r\n--b--',
      '--b\r\nX-Header\r\nContent-Disposition: form-data; name="a"\r\n\r\nv\r\n--b--',
      '--b\r\nContent-Type: text/plain\r\n\r\nv\r\n--b--',
    ];
    for (const b of bad) expect(decodeMultipart(bytes(b), 'b')).toStrictEqual(MALFORMED_MULTIPART);
  });

  it('refuses invalid UTF-8 in a text part but not in a file part', () => {
    const raw = new Uint8Array([0xff, 0xfe]);
    expect(decodeMultipart(multipart('b', [{ name: 'username', value: raw }]), 'b')).toStrictEqual(MALFORMED_MULTIPART);
    expect(decodeMultipart(multipart('b', [{ name: 'f', value: raw, filename: 'x.bin' }]), 'b')).toEqual({
      ok: true,
      fields: { f: { kind: 'file', filename: 'x.bin', size: 2 } },
    });
  });
});

describe('decodeBody: prototype keys', () => {
  const polluted = () => (({}) as Record<string, unknown>).polluted;

  it('keeps a JSON __proto__ key as an own field without touching any prototype', () => {
    const f = fieldsOf(JSON_CT, bytes('{"__proto__":{"polluted":"yes"},"username":"u"}'));
    expect(Object.hasOwn(f, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(f)).toBe(Object.prototype);
    expect(Object.keys(f)).toStrictEqual(['__proto__', 'username']);
    expect(polluted()).toBeUndefined();
    expect((f as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('keeps urlencoded __proto__ and constructor keys as own string fields', () => {
    const f = fieldsOf(FORM_CT, bytes('__proto__=x&constructor=y&polluted=z'));
    expect(Object.hasOwn(f, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(f, '__proto__')?.value).toBe('x');
    expect(f.constructor).toBe('y');
    expect(Object.keys(f)).toStrictEqual(['__proto__', 'constructor', 'polluted']);
    expect(polluted()).toBeUndefined();
  });

  it('keeps a multipart __proto__ part as an own field', () => {
    const f = fieldsOf('multipart/form-data; boundary=b', multipart('b', [{ name: '__proto__', value: 'x' }]));
    expect(Object.getOwnPropertyDescriptor(f, '__proto__')?.value).toBe('x');
    expect(polluted()).toBeUndefined();
  });

  it('does not see inherited names as fields in form bodies', () => {
    const f = fieldsOf(FORM_CT, bytes('username=u'));
    expect(Object.hasOwn(f, 'toString')).toBe(false);
    expect(f.toString).toBeUndefined();
  });
});

describe('jsonErrorDetail', () => {
  it("words errors as Python's json module does, with line, column and char", () => {
    expect(jsonErrorDetail('[1,2')).toBe("Expecting ',' delimiter: line 1 column 5 (char 4)");
    expect(jsonErrorDetail('{"a" 1}')).toBe("Expecting ':' delimiter: line 1 column 6 (char 5)");
    expect(jsonErrorDetail('"abc')).toBe('Unterminated string starting at: line 1 column 1 (char 0)');
    expect(jsonErrorDetail('{"a":1}\n x')).toBe('Extra data: line 2 column 2 (char 9)');
  });

  it("refuses Python's NaN and Infinity literals as DRF's strict JSON parser does, where the scan meets them", () => {
    expect(jsonErrorDetail('{"username":NaN,"password":"x"}')).toBe("Out of range float values are not JSON compliant: 'NaN'");
    expect(jsonErrorDetail('[1, Infinity')).toBe("Out of range float values are not JSON compliant: 'Infinity'");
    expect(jsonErrorDetail('{"a": -Infinity}')).toBe("Out of range float values are not JSON compliant: '-Infinity'");
    // a syntax error before the literal is reported first; -NaN is no literal
    expect(jsonErrorDetail('{"a" NaN}')).toBe("Expecting ':' delimiter: line 1 column 6 (char 5)");
    expect(jsonErrorDetail('[-NaN]')).toBe('Expecting value: line 1 column 2 (char 1)');
  });

  it('never quotes the body, so a password in a malformed body is not echoed', () => {
    const detail = jsonErrorDetail('{"password":hunter2}');
    expect(detail).toBe('Expecting value: line 1 column 13 (char 12)');
    expect(detail.includes('hunter2')).toBe(false);
    const r = decodeBody('application/json', new TextEncoder().encode('{"password":hunter2}'), 1024);
    expect(r).toStrictEqual({ ok: false, problem: { reason: 'bad_json', detail: 'Expecting value: line 1 column 13 (char 12)' } });
  });
});

describe('decodeBody: JSON nested deeper than MAX_JSON_DEPTH', () => {
  const TOO_DEEP = `Nesting deeper than ${MAX_JSON_DEPTH} levels: line 1 column ${MAX_JSON_DEPTH + 1} (char ${MAX_JSON_DEPTH})`;
  const decode = (text: string) => decodeBody('application/json', bytes(text), LIMIT);
  const tooDeep = (detail = TOO_DEEP) => ({ ok: false, problem: { reason: 'bad_json', detail } });

  it('is 64 levels: a login body is 1', () => {
    expect(MAX_JSON_DEPTH).toBe(64);
  });

  it("refuses 16,000 unclosed [ as malformed JSON in the json module's words, never the runtime's", () => {
    const r = decode('['.repeat(16_000));
    expect(r).toStrictEqual(tooDeep());
    expect(JSON.stringify(r).includes('call stack')).toBe(false);
  });

  it('refuses deep documents that JSON.parse would accept: arrays, objects, mixed', () => {
    expect(decode(`${'['.repeat(8000)}${']'.repeat(8000)}`)).toStrictEqual(tooDeep());
    expect(decode(`${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}`)).toStrictEqual(
      tooDeep(`Nesting deeper than ${MAX_JSON_DEPTH} levels: line 1 column ${5 * MAX_JSON_DEPTH + 1} (char ${5 * MAX_JSON_DEPTH})`),
    );
    expect(decode(`{"username":"u","x":${'[{"a":'.repeat(100)}`)).toStrictEqual(
      tooDeep(`Nesting deeper than ${MAX_JSON_DEPTH} levels: line 1 column 208 (char 207)`),
    );
  });

  it('accepts exactly 64 levels', () => {
    const deepest = `${'['.repeat(MAX_JSON_DEPTH - 1)}1${']'.repeat(MAX_JSON_DEPTH - 1)}`;
    expect(decode(`{"username":"u","password":"p","x":${deepest}}`).ok).toBe(true);
    expect(decode(`${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`)).toStrictEqual({
      ok: false,
      problem: { reason: 'not_object', detail: 'list' },
    });
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    const f = fieldsOf('application/json', bytes(JSON.stringify({ username: 'u', password: `\\"${'['.repeat(5000)}{` })));
    expect(f.password).toBe(`\\"${'['.repeat(5000)}{`);
  });

  it('reports an error that comes before the depth limit first, as a parser reading left to right does', () => {
    expect(decode(`[1 2${'['.repeat(200)}`)).toStrictEqual(tooDeep("Expecting ',' delimiter: line 1 column 4 (char 3)"));
    expect(decode(`\n${'['.repeat(200)}`)).toStrictEqual(
      tooDeep(`Nesting deeper than ${MAX_JSON_DEPTH} levels: line 2 column ${MAX_JSON_DEPTH + 1} (char ${MAX_JSON_DEPTH + 1})`),
    );
  });

  it('jsonErrorDetail words a deep text without running out of stack, however deep', () => {
    expect(jsonErrorDetail('['.repeat(1_000_000))).toBe(TOO_DEEP);
    expect(jsonErrorDetail('{"a":'.repeat(200_000))).toBe(
      `Nesting deeper than ${MAX_JSON_DEPTH} levels: line 1 column ${5 * MAX_JSON_DEPTH + 1} (char ${5 * MAX_JSON_DEPTH})`,
    );
  });
});
