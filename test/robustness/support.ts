import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import fc from 'fast-check';
import { STACK_TRACE, serverFailure } from '../support/answers.ts';
import { type Reply, replyOf } from '../support/http.ts';
import { validateResponse } from '../support/openapi.ts';

/**
 * Budget of the robustness suite. Under `npm test` each property makes a fixed number of runs
 * from a fixed seed; under `npm run fuzz -- --minutes N` (FUZZ_MINUTES=N) each runs for its share
 * of N minutes from a fresh seed. Either way the seed is printed; FUZZ_SEED=<seed> runs it again.
 */
export const FUZZ_MINUTES = Number(process.env.FUZZ_MINUTES ?? '0') || 0;
export const FUZZ_SEED =
  process.env.FUZZ_SEED !== undefined && process.env.FUZZ_SEED !== ''
    ? Number(process.env.FUZZ_SEED)
    : FUZZ_MINUTES > 0
      ? (Date.now() ^ (Math.random() * 0x7fffffff)) | 0
      : 20_260_611;

/**
 * The longest any answer may take: the Redis command timeout (2 s by default) twice over (a login
 * reads, then writes), plus room for a machine shared with other suites. Slower is a hang.
 */
export const REQUEST_TIMEOUT_MS = 8000;

/** Where each file writes how many requests it sent per route (read by infra/dev/fuzz.mjs). */
export const COUNTS_DIR = join(new URL('../../', import.meta.url).pathname, 'test-results', 'robustness');

/** fast-check parameters for one property: `runs` by default, `shareMs` of the fuzz time under FUZZ_MINUTES. */
export function budget(name: string, runs: number, shareMs: number): fc.Parameters<unknown> {
  process.stdout.write(
    `robustness ${name}: seed ${FUZZ_SEED}, ${FUZZ_MINUTES > 0 ? `${Math.round(shareMs / 1000)} s` : `${runs} runs`} (FUZZ_SEED=${FUZZ_SEED} repeats it)\n`,
  );
  return FUZZ_MINUTES > 0
    ? { seed: FUZZ_SEED, numRuns: Number.MAX_SAFE_INTEGER, plugins: [fc.interruptAfterTimeLimit(shareMs)], endOnFailure: false }
    : { seed: FUZZ_SEED, numRuns: runs };
}

/** The test timeout that fits a property's budget (its share of the fuzz time, plus shrinking). */
export function timeoutFor(shareMs: number, defaultMs = 60_000): number {
  return FUZZ_MINUTES > 0 ? shareMs + 180_000 : defaultMs;
}

/** Requests sent, per route. */
export class Counts {
  private readonly sent = new Map<string, number>();
  private readonly notes = new Map<string, number>();
  constructor(private readonly file: string) {}
  add(route: string): void {
    this.sent.set(route, (this.sent.get(route) ?? 0) + 1);
  }
  /** Counts something seen on the way that no check forbids but the report should name. */
  note(what: string): void {
    this.notes.set(what, (this.notes.get(what) ?? 0) + 1);
  }
  total(): number {
    return [...this.sent.values()].reduce((a, b) => a + b, 0);
  }
  /** Writes test-results/robustness/<file>.json: `{ "requests": { "<route>": n }, "notes": { "<what>": n } }`. */
  save(): void {
    mkdirSync(COUNTS_DIR, { recursive: true });
    const sorted = (m: Map<string, number>) => Object.fromEntries([...m.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
    const text = JSON.stringify({ requests: sorted(this.sent), notes: sorted(this.notes) }, null, 2);
    writeFileSync(join(COUNTS_DIR, `${this.file}.json`), `${text}\n`);
  }
}

/** The methods of RFC 9110 and PATCH: each must get an answer. */
const STANDARD_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);

/**
 * A method outside RFC 9110 (which the OpenAPI document cannot list): the HTTP parser refuses a
 * token it does not know with a bodiless 400; one it knows (SEARCH, PROPFIND...) reaches the route,
 * which answers "method not allowed" in its dialect (moh and PEB: status 200 with their error), or
 * the JSON 404 where no route is.
 */
function unknownMethodAnswer(answer: Answer): boolean {
  // the HTTP layer's refusals: a method token it does not know (400), a head too large (431)
  if ((answer.status === 400 || answer.status === 431) && answer.text === '') return true;
  if (answer.status >= 500) return false;
  try {
    JSON.parse(answer.text);
    return true;
  } catch {
    return false;
  }
}

/** One generated request. */
export interface Attempt {
  readonly method: string;
  /** Sent verbatim (node:http checks only that it has no control characters or spaces). */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array | null;
  /** Send the body in two chunks without a Content-Length (chunked transfer encoding). */
  readonly chunked?: boolean;
}

/** An answer and how long it took. */
export interface Answer extends Reply {
  readonly ms: number;
}

/** Why a connection ended without an answer (the HTTP layer refusing what it cannot parse). */
export class NoAnswer extends Error {}

/** The bytes of an attempt as an HTTP/1.1 request on a connection of its own (`Connection: close`). */
function requestBytes(a: Attempt): Buffer {
  const lines = [`${a.method} ${a.path} HTTP/1.1`, 'host: 127.0.0.1', 'connection: close'];
  for (const [name, value] of Object.entries(a.headers)) lines.push(`${name}: ${value}`);
  if (a.body === null) return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  if (a.chunked !== true) {
    lines.push(`content-length: ${a.body.byteLength}`);
    return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), a.body]);
  }
  lines.push('transfer-encoding: chunked');
  const half = Math.floor(a.body.byteLength / 2);
  const chunk = (b: Uint8Array) => (b.byteLength === 0 ? [] : [Buffer.from(`${b.byteLength.toString(16)}\r\n`), b, Buffer.from('\r\n')]);
  return Buffer.concat([
    Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'),
    ...chunk(a.body.subarray(0, half)),
    ...chunk(a.body.subarray(half)),
    Buffer.from('0\r\n\r\n'),
  ]);
}

/** Decodes a chunked body (the worker's node:http server sends them). */
function dechunk(raw: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = raw.indexOf('\r\n', at);
    if (eol < 0) throw new NoAnswer('a chunked answer was cut short');
    const size = Number.parseInt(raw.subarray(at, eol).toString('latin1'), 16);
    if (!(size > 0)) return Buffer.concat(parts);
    parts.push(raw.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

/** Reads an answer off the bytes a server sent before closing the connection. */
function parseAnswer(method: string, raw: Buffer, ms: number): Answer & { readonly extra: number } {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0)
    throw new NoAnswer(
      raw.byteLength === 0 ? 'closed without an answer' : `an answer cut short: ${JSON.stringify(raw.toString('latin1').slice(0, 200))}`,
    );
  const [statusLine, ...fields] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '');
  if (m === null) throw new Error(`not an HTTP answer: ${JSON.stringify(statusLine)}`);
  const headers = new Headers();
  for (const f of fields) {
    const colon = f.indexOf(':');
    headers.append(f.slice(0, colon).trim(), f.slice(colon + 1).trim());
  }
  const rest = raw.subarray(end + 4);
  const length = headers.get('content-length');
  let body: Buffer;
  let extra = 0;
  if (method === 'HEAD') {
    body = Buffer.alloc(0);
    extra = rest.byteLength;
  } else if (headers.get('transfer-encoding')?.toLowerCase() === 'chunked') body = dechunk(rest);
  else if (length !== null) {
    body = rest.subarray(0, Number(length));
    extra = rest.byteLength - body.byteLength;
  } else body = rest;
  return { ...replyOf(Number(m[1]), headers, body.toString('utf8')), ms, extra };
}

/**
 * Sends one request on a connection of its own and reads the answer until the server closes it;
 * rejects after REQUEST_TIMEOUT_MS (a hang), and with NoAnswer when the connection ends without one.
 * `extra` counts bytes after the answer (a body sent to HEAD).
 */
export function sendAttempt(port: number, a: Attempt): Promise<Answer & { readonly extra: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`));
    }, REQUEST_TIMEOUT_MS);
    socket.on('data', (c: Buffer) => chunks.push(c));
    // the server may answer and close before it has read the whole request: what it sent counts
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      try {
        resolve(parseAnswer(a.method, Buffer.concat(chunks), performance.now() - started));
      } catch (err) {
        reject(err);
      }
    });
    // write, not end: uWebSockets.js drops a connection half-closed by the client before it answers
    socket.write(requestBytes(a));
  });
}

/** A readable one-line account of an attempt (bodies cut short), for failure messages. */
export function describeAttempt(a: Attempt): string {
  const body = a.body === null ? '(no body)' : JSON.stringify(Buffer.from(a.body).toString('latin1').slice(0, 300));
  return `${a.method} ${a.path.slice(0, 200)} ${JSON.stringify(a.headers).slice(0, 300)} ${body}${a.chunked === true ? ' (chunked)' : ''}`;
}

/**
 * Sends an attempt and checks the answer: no server failure (5xx other than the documented
 * "unavailable", internal errors in a dialect's words), one the OpenAPI document describes, no
 * stack trace in it, within the request timeout.
 */
export async function sendAndJudge(port: number, a: Attempt, counts: Counts, route: string): Promise<Answer | null> {
  counts.add(route);
  let answer: Answer & { readonly extra: number };
  try {
    answer = await sendAttempt(port, a);
  } catch (err) {
    throw new Error(`${(err as Error).message}: ${describeAttempt(a)}`);
  }
  const problems: string[] = [];
  if (answer.extra > 0) problems.push(a.method === 'HEAD' ? 'HEAD answered with a body' : 'bytes after the answer');
  const failure = serverFailure(a.path, answer.status, answer.text);
  if (failure !== null) problems.push(`server failure: ${failure}`);
  if (STACK_TRACE.test(answer.text)) problems.push('stack-trace-like text in the body');
  if (STANDARD_METHODS.has(a.method)) {
    try {
      validateResponse(a.method, a.path, answer.status, answer.headers, answer.text);
    } catch (err) {
      problems.push((err as Error).message);
    }
  } else if (!unknownMethodAnswer(answer)) {
    problems.push(`method ${a.method}: neither the HTTP layer's bodiless 400/431 nor a JSON answer of the route`);
  }
  if (problems.length > 0) {
    throw new Error(`${problems.join('; ')}\n  request: ${describeAttempt(a)}\n  answer: ${answer.status} ${answer.text.slice(0, 400)}`);
  }
  return answer;
}

/** Lines that are not one JSON object, or that carry a stack trace. */
export function badLogLines(lines: readonly string[]): string[] {
  return lines.filter((line) => {
    if (STACK_TRACE.test(line)) return true;
    try {
      const v = JSON.parse(line) as unknown;
      return typeof v !== 'object' || v === null || Array.isArray(v);
    } catch {
      return true;
    }
  });
}
