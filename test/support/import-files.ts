import { readFileSync } from 'node:fs';

/** Rows as an NDJSON file's text (a string row as it is: a broken line). */
export const ndjson = (rows: readonly unknown[]): string => rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n');

/** The entries of an import's `--report` file. */
export const reportOf = (path: string): Record<string, unknown>[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** An import's summary: the last line it prints. */
export const summaryLine = (stdout: string): string => stdout.trimEnd().split('\n').at(-1) ?? '';
