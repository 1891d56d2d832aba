import { isUtf8 } from 'node:buffer';
import { Readable } from 'node:stream';
import { parse as parseCsv } from 'csv-parse';

export type ImportFormat = 'ndjson' | 'csv' | 'django';

/** A row refused before it could be read as a user: its code and reason for the report. */
export interface RowProblem {
  readonly code: string;
  readonly reason: string;
}

/** One row of the input: its fields, or why it could not be read. `line` is 1-based. */
export type SourceRow =
  | { readonly line: number; readonly fields: Record<string, unknown> }
  | { readonly line: number; readonly problem: RowProblem };

/**
 * The longest row read, in characters: a user is a few hundred; a longer row is refused and its
 * text never held, so one bad line cannot take the importer's memory.
 */
export const MAX_ROW_CHARS = 65_536;

const tooLarge = (line: number): SourceRow => ({
  line,
  problem: { code: 'row_too_large', reason: `the row is over ${MAX_ROW_CHARS} characters` },
});

/** Reading cannot go on past this point (not UTF-8, a CSV quote never closed): reported, the rest left. */
class InputError extends Error {
  constructor(
    readonly line: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const countLines = (text: string, upTo = text.length) => {
  let n = 0;
  for (let at = text.indexOf('\n'); at !== -1 && at < upTo; at = text.indexOf('\n', at + 1)) n++;
  return n;
};

/** After the last whole UTF-8 character of `bytes` (a character cut at the end waits for more). */
function wholeCharacters(bytes: Uint8Array): number {
  for (let back = 1; back <= Math.min(4, bytes.length); back++) {
    const b = bytes[bytes.length - back] as number;
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: look further back
    const need = b < 0x80 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > back ? bytes.length - back : bytes.length;
  }
  return bytes.length;
}

/** The index of the first byte that is not UTF-8 in `bytes` (whole characters only), or -1. */
function firstBadByte(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i] as number;
    if (b < 0x80) {
      i++;
      continue;
    }
    const len = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (len === 0 || i + len > bytes.length) return i;
    const b1 = bytes[i + 1] as number;
    // no overlong forms, no surrogates, nothing over U+10FFFF
    if ((b === 0xe0 && b1 < 0xa0) || (b === 0xed && b1 > 0x9f) || (b === 0xf0 && b1 < 0x90) || (b === 0xf4 && b1 > 0x8f)) return i;
    for (let k = 1; k < len; k++) if (((bytes[i + k] as number) & 0xc0) !== 0x80) return i;
    i += len;
  }
  return -1;
}

/**
 * The input as text: strict UTF-8, a character cut between two reads joined again, a leading BOM
 * dropped. A byte that is not UTF-8 stops the read, reported with its line, after every whole
 * line before it (a CSV saved as Latin-1 or UTF-16 from a spreadsheet is the usual cause, and the
 * reason says how to convert it).
 */
async function* utf8(input: Readable): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8');
  let line = 1;
  let pending: Buffer = Buffer.alloc(0);
  let first = true;
  for await (const chunk of input as AsyncIterable<Buffer>) {
    const bytes = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    if (first) {
      if (bytes.length < 2) {
        pending = bytes;
        continue;
      }
      first = false;
      if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))
        throw new InputError(1, 'bad_encoding', 'the input is UTF-16: convert it to UTF-8 (iconv -f UTF-16 -t UTF-8)');
    }
    const whole = wholeCharacters(bytes);
    const head = bytes.subarray(0, whole);
    const bad = isUtf8(head) ? -1 : firstBadByte(head);
    const text = decoder.decode(bad === -1 ? head : head.subarray(0, bad), { stream: true });
    if (bad !== -1) {
      // the whole lines before the bad byte are read; its own line is the problem
      const lines = text.slice(0, text.lastIndexOf('\n') + 1);
      if (lines !== '') yield lines;
      throw new InputError(
        line + countLines(text),
        'bad_encoding',
        'the input is not UTF-8 here: convert it (iconv -f LATIN1 -t UTF-8, or from the encoding it was saved in)',
      );
    }
    line += countLines(text);
    if (text !== '') yield text;
    pending = Buffer.from(bytes.subarray(whole));
  }
  if (pending.length > 0) {
    if (!isUtf8(pending)) throw new InputError(line, 'bad_encoding', 'the input ends inside a UTF-8 character, or is not UTF-8');
    yield decoder.decode(pending);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function jsonRow(line: number, text: string): SourceRow {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { line, problem: { code: 'bad_json', reason: `not JSON: ${(err as Error).message}` } };
  }
  return isObject(value) ? { line, fields: value } : { line, problem: { code: 'bad_json', reason: 'not a JSON object' } };
}

/** NDJSON: one JSON object a line (LF or CRLF); blank lines are skipped. */
async function* ndjson(text: AsyncIterable<string>): AsyncGenerator<SourceRow> {
  let line = 1;
  let parts: string[] = [];
  let size = 0;
  const row = (): SourceRow | null => {
    const whole = parts.join('');
    const r = size > MAX_ROW_CHARS ? tooLarge(line) : whole.trim() === '' ? null : jsonRow(line, whole);
    parts = [];
    size = 0;
    line++;
    return r;
  };
  for await (const chunk of text) {
    let from = 0;
    for (let at = chunk.indexOf('\n'); at !== -1; at = chunk.indexOf('\n', from)) {
      if (size <= MAX_ROW_CHARS) parts.push(chunk.slice(from, at));
      // the CR of a CRLF line end is not the row's
      size += at - from - (at > from && chunk.charCodeAt(at - 1) === 13 ? 1 : 0);
      from = at + 1;
      const r = row();
      if (r !== null) yield r;
    }
    if (size <= MAX_ROW_CHARS) parts.push(chunk.slice(from));
    size += chunk.length - from;
  }
  const r = row();
  if (r !== null) yield r;
}

/**
 * CRLF to LF before the CSV parser, which counts a CRLF inside a quoted value as two lines (so
 * every later line number would be off); values spanning lines keep LF line ends.
 */
async function* lfLineEnds(text: AsyncIterable<string>): AsyncGenerator<string> {
  let held = '';
  for await (const chunk of text) {
    const t = held + chunk;
    held = t.endsWith('\r') ? '\r' : '';
    yield t.slice(0, t.length - held.length).replaceAll('\r\n', '\n');
  }
  if (held !== '') yield held;
}

/**
 * CSV (RFC 4180, by csv-parse): a header row names the columns (each once); quoted values may span
 * lines, and a row's line is the one it ends on. A row with the wrong number of columns is
 * reported and the rows after it are still read; a stray quote inside a value is kept as text
 * (relax_quotes), so the row's own checks judge the value. A quote never closed would take the
 * rest of the file into one value: reading stops at MAX_ROW_CHARS, and says so.
 */
async function* csv(text: AsyncIterable<string>): AsyncGenerator<SourceRow> {
  const skipped: SourceRow[] = [];
  const header = (names: string[]) => {
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice !== undefined) throw new InputError(1, 'bad_csv', `the header names the column ${JSON.stringify(twice)} twice`);
    return names;
  };
  // An input that stops being readable ends the CSV there: the parser keeps the rows it has.
  let broken: InputError | null = null;
  const upTo = async function* () {
    try {
      yield* lfLineEnds(text);
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      broken = err;
    }
  };
  const source = Readable.from(upTo());
  const parser = source.pipe(
    parseCsv({
      columns: header,
      bom: true,
      info: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      relax_quotes: true,
      max_record_size: MAX_ROW_CHARS,
    }),
  );
  source.on('error', (err) => parser.destroy(err));
  let stopped: SourceRow | null = null;
  parser.on('skip', (err: Error & { code?: string; lines?: number }) => {
    const line = err.lines ?? 0;
    if (err.code === 'CSV_MAX_RECORD_SIZE') {
      // csv-parse reads no further after this one
      stopped = {
        line,
        problem: {
          code: 'bad_csv',
          reason: `a row over ${MAX_ROW_CHARS} characters (a quote never closed?): the rest of the file was not read`,
        },
      };
      return;
    }
    skipped.push({ line, problem: { code: 'bad_csv', reason: err.message } });
  });
  // The parser reports a skipped row as soon as it meets it, ahead of rows still buffered: in line order again.
  const before = (line: number) => {
    const due = skipped.filter((r) => r.line < line);
    skipped.splice(0, due.length);
    return due;
  };
  try {
    for await (const { info, record } of parser as AsyncIterable<{ info: { lines: number }; record: Record<string, string> }>) {
      yield* before(info.lines);
      yield { line: info.lines, fields: record };
    }
  } catch (err) {
    // csv-parse wraps what the header check threw
    const cause = (err as { cause?: unknown }).cause ?? err;
    throw cause instanceof InputError ? cause : err;
  }
  yield* skipped.splice(0);
  if (stopped !== null) yield stopped;
  if (broken !== null) throw broken;
}

/**
 * Django's `manage.py dumpdata auth.user`: one JSON array of `{"model","pk","fields"}`, on one line
 * by default. Its elements are cut out one at a time (string- and nesting-aware), so a dump of any
 * size streams, each element keeps the line it starts on, and a broken element, one that is not
 * an object, one over MAX_ROW_CHARS or a truncated end is reported while every whole element
 * before and after it is still read.
 */
async function* django(text: AsyncIterable<string>): AsyncGenerator<SourceRow> {
  let line = 1;
  let started = false;
  let ended = false;
  let depth = 0;
  let inString = false;
  let escaped = false;
  /** An element that is not an object or array: reported once, skipped to the next comma. */
  let scalar = false;
  let element: string[] = [];
  let size = 0;
  let elementLine = 0;
  for await (const chunk of text) {
    let from = -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (c === 10) line++;
      if (ended) {
        if (c > 32) {
          yield { line, problem: { code: 'bad_json', reason: 'text after the end of the array' } };
          return;
        }
        continue;
      }
      if (inString) {
        if (escaped) escaped = false;
        else if (c === 92) escaped = true;
        else if (c === 34) inString = false;
        continue;
      }
      if (!started) {
        if (c === 91) started = true;
        else if (c > 32) {
          yield { line, problem: { code: 'bad_json', reason: 'not a JSON array (manage.py dumpdata auth.user prints one)' } };
          return;
        }
        continue;
      }
      if (depth === 0) {
        if (c === 44 || c === 93) {
          scalar = false;
          if (c === 93) ended = true;
        } else if (c === 123 || c === 91) {
          depth = 1;
          elementLine = line;
          from = i;
          element = [];
          size = 0;
        } else if (c > 32 && !scalar) {
          scalar = true;
          yield { line, problem: { code: 'bad_json', reason: 'not a JSON object' } };
          if (c === 34) inString = true;
        } else if (c === 34) inString = true;
        continue;
      }
      if (c === 34) inString = true;
      else if (c === 123 || c === 91) depth++;
      else if (c === 125 || c === 93) {
        depth--;
        if (depth === 0) {
          size += i + 1 - Math.max(from, 0);
          if (size <= MAX_ROW_CHARS) element.push(chunk.slice(Math.max(from, 0), i + 1));
          from = -1;
          yield size > MAX_ROW_CHARS ? tooLarge(elementLine) : jsonRow(elementLine, element.join(''));
          element = [];
        }
      }
    }
    if (depth > 0) {
      size += chunk.length - Math.max(from, 0);
      if (size <= MAX_ROW_CHARS) element.push(chunk.slice(Math.max(from, 0)));
      from = -1;
    }
  }
  if (!started) yield { line, problem: { code: 'bad_json', reason: 'empty input: not a JSON array' } };
  else if (depth > 0) yield { line: elementLine, problem: { code: 'bad_json', reason: 'truncated: the input ends inside this element' } };
  else if (!ended) yield { line, problem: { code: 'bad_json', reason: 'truncated: the array is not closed' } };
}

const READERS: Record<ImportFormat, (text: AsyncIterable<string>) => AsyncGenerator<SourceRow>> = { ndjson, csv, django };

/** The rows of an input in a format, in order; an input that cannot be read on ends with its reason. */
export async function* readRows(input: Readable, format: ImportFormat): AsyncGenerator<SourceRow> {
  try {
    yield* READERS[format](utf8(input));
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    yield { line: err.line, problem: { code: err.code, reason: err.message } };
  }
}
