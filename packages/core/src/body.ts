import type { Problem } from './outcome.ts';

/** Fields of a decoded body. JSON keeps its value types; form fields are strings (files are `UploadedFile`). */
export type Fields = Readonly<Record<string, unknown>>;

/** A file part of a multipart body: never a valid value for a text field. */
export interface UploadedFile {
  readonly kind: 'file';
  readonly filename: string;
  readonly size: number;
}

export type BodyResult = { readonly ok: true; readonly fields: Fields } | { readonly ok: false; readonly problem: Problem };

/** The media types every dialect accepts. */
export const ACCEPTED_MEDIA_TYPES = ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data'] as const;

export interface ContentType {
  /** Lower-case `type/subtype`, or '' when the header is absent or empty. */
  readonly mediaType: string;
  /** Parameters, names lower-cased, values unquoted. */
  readonly params: Readonly<Record<string, string>>;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses a Content-Type header value (RFC 9110 §8.3) into media type and parameters. */
export function parseContentType(header: string): ContentType {
  const params: Record<string, string> = Object.create(null);
  const semi = header.indexOf(';');
  const mediaType = (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase();
  if (semi !== -1) {
    // name=value or name="quoted value", separated by semicolons
    const re = /\s*;\s*([^\s=;]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"\s*|([^;]*))/gy;
    re.lastIndex = semi;
    let m: RegExpExecArray | null = re.exec(header);
    while (m !== null) {
      const name = (m[1] ?? '').toLowerCase();
      const value = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '').trim();
      if (!(name in params)) params[name] = value;
      m = re.exec(header);
    }
  }
  return { mediaType, params };
}

function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

function charsetOk(ct: ContentType): boolean {
  const cs = ct.params.charset;
  return cs === undefined || cs.toLowerCase() === 'utf-8' || cs.toLowerCase() === 'utf8';
}

/**
 * Decodes a request body into fields. Never throws: every failure is a `Problem`.
 *
 * - An empty body decodes to no fields, whatever its content type, so the dialect reports its
 *   "required field" answer, as Django REST framework does.
 * - `body === null` means the adapter saw a body over the limit and did not read it.
 */
export function decodeBody(contentTypeHeader: string, body: Uint8Array | null, limit: number): BodyResult {
  if (body === null || body.byteLength > limit) return { ok: false, problem: { reason: 'too_large' } };
  // No body is no data, whatever the content type (Django REST framework parses nothing then).
  if (body.byteLength === 0) return { ok: true, fields: {} };
  const ct = parseContentType(contentTypeHeader);
  if (ct.mediaType === '') return { ok: false, problem: { reason: 'unsupported_media_type', contentType: '' } };
  if (!charsetOk(ct)) return { ok: false, problem: { reason: 'unsupported_media_type', contentType: contentTypeHeader.trim() } };
  switch (ct.mediaType) {
    case 'application/json':
      return decodeJson(body);
    case 'application/x-www-form-urlencoded':
      return decodeUrlencoded(body);
    case 'multipart/form-data':
      return decodeMultipart(body, ct.params.boundary);
    default:
      return { ok: false, problem: { reason: 'unsupported_media_type', contentType: contentTypeHeader.trim() } };
  }
}

/**
 * The deepest JSON body accepted: arrays and objects nested at most this many levels (a login body
 * is 1). Deeper is malformed JSON ("Nesting deeper than 64 levels: line 1 column 65 (char 64)"),
 * refused before `JSON.parse`, so no code after the decoder ever walks a deeper value.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Whether a JSON text opens more than `max` arrays or objects at once: one linear pass that skips
 * strings (and the escapes in them), no recursion. Exact for valid JSON; for invalid JSON only a
 * hint, since `jsonErrorDetail` then finds the first problem in order.
 */
function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // a string: up to the next quote that no backslash escapes
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

function decodeJson(body: Uint8Array): BodyResult {
  // Django REST framework treats an empty body as no data at all (its "required" answers).
  if (body.byteLength === 0) return { ok: true, fields: {} };
  const text = decodeUtf8(body);
  if (text === null) return { ok: false, problem: { reason: 'bad_json', detail: "'utf-8' codec can't decode the body" } };
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) return { ok: false, problem: { reason: 'bad_json', detail: jsonErrorDetail(text) } };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Never the parser's own message: V8 quotes the input, which may hold a password.
    return { ok: false, problem: { reason: 'bad_json', detail: jsonErrorDetail(text) } };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, problem: { reason: 'not_object', detail: jsonTypeName(value) } };
  }
  return { ok: true, fields: value as Fields };
}

/** What `jsonErrorDetail` throws to report a problem; anything else thrown is not worded. */
class JsonTextError extends Error {}

/**
 * Where and why a JSON text is invalid, worded as Python's json module (which DRF quotes):
 * "Expecting value: line 1 column 1 (char 0)". Never echoes the input. Positions are in UTF-16
 * code units, which equal Python's for the ASCII texts that such errors nearly always are.
 *
 * Python's `NaN`, `Infinity` and `-Infinity` are refused as DRF's strict parser refuses them
 * ("Out of range float values are not JSON compliant: 'NaN'", no position).
 *
 * An array or object opened deeper than `MAX_JSON_DEPTH` is an error of its own, "Nesting deeper
 * than 64 levels" at that bracket, in the same form. Python's parser would fail there with a
 * RecursionError (which DRF does not catch: a 500); this reader recurses at most that deep.
 */
export function jsonErrorDetail(text: string): string {
  let i = 0;
  const fail = (msg: string, at: number): never => {
    const before = text.slice(0, at);
    const line = before.split('\n').length;
    throw new JsonTextError(`${msg}: line ${line} column ${at - before.lastIndexOf('\n')} (char ${at})`);
  };
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
  };
  const string = () => {
    const start = i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') i++;
      else if ((text.charCodeAt(i) ?? 0) < 0x20) fail('Invalid control character at', i);
      i++;
    }
    if (i >= text.length) fail('Unterminated string starting at', start);
    i++;
  };
  const value = (depth: number): void => {
    ws();
    const c = text[i];
    if (c === '"') {
      string();
      return;
    }
    if ((c === '{' || c === '[') && depth === MAX_JSON_DEPTH) fail(`Nesting deeper than ${MAX_JSON_DEPTH} levels`, i);
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('Expecting property name enclosed in double quotes', i);
        string();
        ws();
        if (text[i] !== ':') fail("Expecting ':' delimiter", i);
        i++;
        value(depth + 1);
        ws();
        if (text[i] === '}') {
          i++;
          return;
        }
        if (text[i] !== ',') fail("Expecting ',' delimiter", i);
        i++;
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value(depth + 1);
        ws();
        if (text[i] === ']') {
          i++;
          return;
        }
        if (text[i] !== ',') fail("Expecting ',' delimiter", i);
        i++;
      }
    }
    for (const lit of ['true', 'false', 'null']) {
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return;
      }
    }
    // Python reads these as floats; DRF's strict parser (STRICT_JSON) refuses them where it meets them
    for (const lit of ['NaN', 'Infinity', '-Infinity']) {
      if (text.startsWith(lit, i)) throw new JsonTextError(`Out of range float values are not JSON compliant: '${lit}'`);
    }
    const num = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i));
    if (num === null) fail('Expecting value', i);
    i += (num as RegExpExecArray)[0].length;
  };
  try {
    value(0);
    ws();
    if (i < text.length) fail('Extra data', i);
    return 'Invalid JSON';
  } catch (err) {
    // only this reader's own words: never a runtime's message (V8's quote the input)
    return err instanceof JsonTextError ? err.message : 'Invalid JSON';
  }
}

/** The Python type name DRF reports for a non-object JSON body. */
function jsonTypeName(value: unknown): string {
  if (Array.isArray(value)) return 'list';
  if (value === null) return 'NoneType';
  switch (typeof value) {
    case 'string':
      return 'str';
    case 'number':
      return Number.isInteger(value) ? 'int' : 'float';
    case 'boolean':
      return 'bool';
    default:
      return 'dict';
  }
}

/** Lenient, as Django's QueryDict is: undecodable bytes become U+FFFD. */
const lenientUtf8 = new TextDecoder('utf-8');

function decodeUrlencoded(body: Uint8Array): BodyResult {
  const text = lenientUtf8.decode(body);
  const fields: Record<string, unknown> = Object.create(null);
  // Later repetitions win, as Django's QueryDict.get does. The WHATWG urlencoded parser
  // (URLSearchParams) is the reference; the loop below gives the same fields faster, and hands
  // anything it cannot decode strictly (a stray %, bytes that are not UTF-8) to the reference.
  let from = 0;
  // the next '=' at or after `from`; searched again only once passed, so a body of many parts
  // without '=' costs one scan, not one per part
  let eq = text.indexOf('=');
  while (from <= text.length) {
    let end = text.indexOf('&', from);
    if (end === -1) end = text.length;
    if (end > from) {
      if (eq !== -1 && eq < from) eq = text.indexOf('=', from);
      const cut = eq === -1 || eq > end ? end : eq;
      const name = formComponent(text.slice(from, cut));
      const value = cut === end ? '' : formComponent(text.slice(cut + 1, end));
      if (name === null || value === null) return urlencodedByReference(text);
      fields[name] = value;
    }
    from = end + 1;
  }
  return { ok: true, fields };
}

function formComponent(raw: string): string | null {
  if (raw.indexOf('%') === -1 && raw.indexOf('+') === -1) return raw;
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

function urlencodedByReference(text: string): BodyResult {
  const fields: Record<string, unknown> = Object.create(null);
  for (const [k, v] of new URLSearchParams(text)) fields[k] = v;
  return { ok: true, fields };
}

const CRLF = [13, 10];

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0];
  outer: for (let i = hay.indexOf(first ?? 0, from); i !== -1 && i <= hay.length - needle.length; i = hay.indexOf(first ?? 0, i + 1)) {
    for (let j = 1; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/**
 * A strict multipart/form-data decoder (RFC 7578) for bodies already bounded in size. Text parts
 * become strings; file parts become `UploadedFile` markers.
 */
export function decodeMultipart(body: Uint8Array, boundary: string | undefined): BodyResult {
  const bad: BodyResult = { ok: false, problem: { reason: 'bad_encoding', detail: 'malformed multipart body' } };
  if (boundary === undefined || boundary === '' || boundary.length > 70) return bad;
  const enc = new TextEncoder();
  const delim = enc.encode(`--${boundary}`);
  const fields: Record<string, unknown> = Object.create(null);
  let pos = indexOf(body, delim, 0);
  if (pos === -1) return bad;
  for (;;) {
    pos += delim.length;
    // "--" after a delimiter closes the body
    if (body[pos] === 45 && body[pos + 1] === 45) return { ok: true, fields };
    // skip transport padding up to CRLF
    while (body[pos] === 32 || body[pos] === 9) pos++;
    if (body[pos] !== CRLF[0] || body[pos + 1] !== CRLF[1]) return bad;
    pos += 2;
    const headerEnd = indexOf(body, enc.encode('\r\n\r\n'), pos);
    if (headerEnd === -1) return bad;
    const headerText = decodeUtf8(body.subarray(pos, headerEnd));
    if (headerText === null) return bad;
    const next = indexOf(body, enc.encode(`\r\n--${boundary}`), headerEnd + 4);
    if (next === -1) return bad;
    const content = body.subarray(headerEnd + 4, next);
    let name: string | undefined;
    let filename: string | undefined;
    for (const line of headerText.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon === -1) return bad;
      if (line.slice(0, colon).trim().toLowerCase() !== 'content-disposition') continue;
      const disp = parseContentType(line.slice(colon + 1));
      if (disp.mediaType !== 'form-data') return bad;
      name = disp.params.name;
      filename = disp.params.filename;
    }
    if (name === undefined) return bad;
    if (filename !== undefined) {
      fields[name] = { kind: 'file', filename, size: content.byteLength } satisfies UploadedFile;
    } else {
      const text = decodeUtf8(content);
      if (text === null) return bad;
      fields[name] = text;
    }
    pos = next + 2;
  }
}
