import { readFileSync } from 'node:fs';
import type { KeyLayout, TesseraRedis, UserRepository } from '@tessera/store';

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

/** An import file's row. */
export type Row = Record<string, unknown>;

/** n rows user0..user<n-1>, each with its own email and the password hash given. */
export const userRows = (n: number, passwordHash: string): Row[] =>
  Array.from({ length: n }, (_, i) => ({ username: `user${i}`, email: `user${i}@example.com`, password_hash: passwordHash }));

/**
 * Makes an import's first batch slow: the id sequence is put behind 2,000 ids that accounts hold,
 * so its rows 0..1999 take the next free id one round trip at a time, and write their accounts
 * last, long after the next batch has been read (import-batches.test.ts).
 */
export async function slowFirstBatch(users: UserRepository, redis: TesseraRedis, keys: KeyLayout): Promise<void> {
  await users.putMany(
    Array.from({ length: 2000 }, (_, i) => ({ id: i + 1, username: `held${i}`, passwordHash: 'h' })),
    { mode: 'create' },
  );
  await redis.set(keys.userSeq, '0');
}
