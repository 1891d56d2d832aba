import { createInterface } from 'node:readline';
import { type Readable, Transform } from 'node:stream';
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

/** NDJSON: one JSON object a line; blank lines are skipped. */
async function* ndjson(input: Readable): AsyncGenerator<SourceRow> {
  let line = 0;
  for await (const text of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
    line++;
    if (text.trim() !== '') yield jsonRow(line, text);
  }
}

/**
 * CSV (RFC 4180, by csv-parse): a header row names the columns; quoted values may span lines, and
 * a row's line is the one it ends on. A row with the wrong number of columns is reported and the
 * rows after it are still read; a stray quote inside a value is kept as text (relax_quotes), so the
 * row's own checks judge the value; a quote never closed takes the rest of the file with it (as in
 * any CSV reader), and is reported.
 */
async function* csv(input: Readable): AsyncGenerator<SourceRow> {
  const skipped: SourceRow[] = [];
  const parser = input
    .pipe(lfLineEnds())
    .pipe(parseCsv({ columns: true, bom: true, info: true, skip_empty_lines: true, skip_records_with_error: true, relax_quotes: true }));
  parser.on('skip', (err: Error & { lines?: number }) => {
    skipped.push({ line: err.lines ?? 0, problem: { code: 'bad_csv', reason: err.message } });
  });
  // The parser reports a skipped row as soon as it meets it, ahead of rows still buffered: in line order again.
  const before = (line: number) => {
    const due = skipped.filter((r) => r.line < line);
    skipped.splice(0, due.length);
    return due;
  };
  for await (const { info, record } of parser as AsyncIterable<{ info: { lines: number }; record: Record<string, string> }>) {
    yield* before(info.lines);
    yield { line: info.lines, fields: record };
  }
  yield* skipped.splice(0);
}

/**
 * CRLF to LF before the CSV parser, which counts a CRLF inside a quoted value as two lines (so
 * every later line number would be off); values spanning lines keep LF line ends.
 */
function lfLineEnds(): Transform {
  let held = '';
  return new Transform({
    decodeStrings: false,
    transform(chunk: Buffer | string, _enc, done) {
      const text = held + chunk.toString();
      held = text.endsWith('\r') ? '\r' : '';
      done(null, text.slice(0, text.length - held.length).replaceAll('\r\n', '\n'));
    },
    flush(done) {
      done(null, held);
    },
  });
}

/**
 * Django's `manage.py dumpdata auth.user`: one JSON array of `{"model","pk","fields"}`, on one line
 * by default. Its elements are cut out one at a time (string- and nesting-aware), so a dump of any
 * size streams, each element keeps the line it starts on, and a broken element or a truncated
 * end is reported while every whole element before and after it is still read.
 */
async function* django(input: Readable): AsyncGenerator<SourceRow> {
  let line = 1;
  let started = false;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let element: string[] = [];
  let chunkStart = 0;
  let elementLine = 0;
  let ended = false;
  for await (const chunk of input.setEncoding('utf8') as AsyncIterable<string>) {
    chunkStart = -1;
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
        if (c === 93) ended = true;
        else if (c === 123 || c === 91) {
          depth = 1;
          elementLine = line;
          chunkStart = i;
          element = [];
        } else if (c === 34) {
          yield { line, problem: { code: 'bad_json', reason: 'not a JSON object' } };
          inString = true;
        } else if (c !== 44 && c > 32) {
          yield { line, problem: { code: 'bad_json', reason: `unexpected ${JSON.stringify(chunk[i])} between elements` } };
        }
        continue;
      }
      if (c === 34) inString = true;
      else if (c === 123 || c === 91) depth++;
      else if (c === 125 || c === 93) {
        depth--;
        if (depth === 0) {
          element.push(chunk.slice(Math.max(chunkStart, 0), i + 1));
          chunkStart = -1;
          yield jsonRow(elementLine, element.join(''));
          element = [];
        }
      }
    }
    if (depth > 0) {
      element.push(chunk.slice(Math.max(chunkStart, 0)));
      chunkStart = -1;
    }
  }
  if (!started) yield { line, problem: { code: 'bad_json', reason: 'empty input: not a JSON array' } };
  else if (depth > 0) yield { line: elementLine, problem: { code: 'bad_json', reason: 'truncated: the input ends inside this element' } };
  else if (!ended) yield { line, problem: { code: 'bad_json', reason: 'truncated: the array is not closed' } };
}

/** The rows of an input in a format, in order. */
export function readRows(input: Readable, format: ImportFormat): AsyncGenerator<SourceRow> {
  switch (format) {
    case 'ndjson':
      return ndjson(input);
    case 'csv':
      return csv(input);
    case 'django':
      return django(input);
  }
}
