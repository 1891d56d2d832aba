import { createReadStream, createWriteStream, statSync, type WriteStream } from 'node:fs';
import { type Readable, Transform } from 'node:stream';
import { finished } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { newEvent } from '@tessera/events';
import type { PutResult } from '@tessera/store';
import { type CliContext, CliError } from '../context.ts';
import { type ImportCounts, showProgress } from '../import/progress.ts';
import { type ImportFormat, type RowProblem, readRows } from '../import/read.ts';
import { type ImportUser, ROW_COLUMNS, toImportUser } from '../import/row.ts';

export const IMPORT_HELP = `tessera users import FILE|- [--format ndjson|csv|django] [--on-conflict skip|update|fail]
                    [--dry-run] [--report FILE]`;

/** Rows read before a write: ten scripts of SCRIPT_USERS, sent together (ioredis pipelines them). */
const BATCH = 500;
/** Users per putUsers call: one call holds Redis for all of them (50: about half a millisecond). */
const SCRIPT_USERS = 50;

const FORMATS: readonly ImportFormat[] = ['ndjson', 'csv', 'django'];
const CONFLICTS = ['skip', 'update', 'fail'] as const;
type OnConflict = (typeof CONFLICTS)[number];

export interface ImportIo {
  readonly stdin: Readable;
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream;
}

/** What one import did; the last line says it, the exit code follows `failed`. */
export interface ImportSummary {
  rows: number;
  created: number;
  updated: number;
  unchanged: number;
  skipped: number;
  failed: number;
}

/** The format an input's name suggests: `.csv` csv, `.json` a Django dump, else ndjson. */
function formatOf(file: string): ImportFormat {
  if (/\.csv$/i.test(file)) return 'csv';
  if (/\.json$/i.test(file)) return 'django';
  return 'ndjson';
}

/** Counts the bytes that pass, for the progress display. */
function byteCounter(counts: ImportCounts): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      counts.bytes += chunk.length;
      done(null, chunk);
    },
  });
}

interface Options {
  readonly file: string;
  readonly format: ImportFormat;
  readonly onConflict: OnConflict;
  readonly dryRun: boolean;
  readonly report: string | null;
}

function options(argv: string[]): Options {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true; args: string[] }>>;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CliError((err as Error).message, 2);
  }
  const { values: v, positionals } = parsed;
  const [file, ...extra] = positionals;
  if (file === undefined || file === '') throw new CliError(`missing FILE (or - for standard input): ${IMPORT_HELP.split('\n')[0]}`, 2);
  if (extra.length > 0) throw new CliError(`unexpected argument ${JSON.stringify(extra[0])}`, 2);
  const format = v.format ?? formatOf(file);
  if (!FORMATS.includes(format as ImportFormat))
    throw new CliError(`--format ${JSON.stringify(format)}: expected ndjson, csv or django`, 2);
  const onConflict = v['on-conflict'] ?? 'skip';
  if (!CONFLICTS.includes(onConflict as OnConflict))
    throw new CliError(`--on-conflict ${JSON.stringify(onConflict)}: expected skip, update or fail`, 2);
  return {
    file,
    format: format as ImportFormat,
    onConflict: onConflict as OnConflict,
    dryRun: v['dry-run'] === true,
    report: v.report ?? null,
  };
}

const OPTIONS = {
  format: { type: 'string' },
  'on-conflict': { type: 'string' },
  'dry-run': { type: 'boolean' },
  report: { type: 'string' },
} as const;

/** One bad row: the report file gets it as a JSON line; without a report, stderr gets one line. */
type Reporter = (line: number, problem: RowProblem, username?: string) => void;

/**
 * The rows this run has seen, for a dry run only: a real run learns of a username or email met
 * earlier in the file from the store, where the earlier row already is. A dry run writes nothing,
 * so it remembers them (about 100 bytes a row).
 */
class SeenInFile {
  private readonly users = new Set<string>();
  private readonly emails = new Map<string, string>();

  /** What the store will say of this row once the earlier rows are in. */
  check(user: ImportUser['user'], mode: 'create' | 'update'): PutResult | null {
    const email = user.email ? user.email.trim().toLowerCase() : '';
    const owner = email === '' ? undefined : this.emails.get(email);
    const exists = this.users.has(user.username);
    if (exists && mode === 'create') return { status: 'exists', id: 0 };
    if (owner !== undefined && owner !== user.username) return { status: 'email_taken' };
    this.users.add(user.username);
    if (email !== '') this.emails.set(email, user.username);
    return exists ? { status: 'updated', id: 0 } : null;
  }
}

/** The username a row names, if it names one (for the report). */
function usernameOf(fields: Record<string, unknown>, format: ImportFormat): string | undefined {
  const f = format === 'django' ? fields.fields : fields;
  const name = typeof f === 'object' && f !== null ? (f as Record<string, unknown>).username : undefined;
  return typeof name === 'string' ? name : undefined;
}

/** `tessera users import`: streams a file of users into the store in pipelined batches. */
export async function importCommand(argv: string[], ctx: () => Promise<CliContext>, io: ImportIo): Promise<ImportSummary> {
  const o = options(argv);
  let totalBytes: number | null = null;
  if (o.file !== '-') {
    try {
      totalBytes = statSync(o.file).size;
    } catch (err) {
      throw new CliError(`cannot read ${o.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 2);
    }
  }
  const c = await ctx();
  const counts: ImportCounts = { rows: 0, failed: 0, bytes: 0, totalBytes };
  const summary: ImportSummary = { rows: 0, created: 0, updated: 0, unchanged: 0, skipped: 0, failed: 0 };
  let reportFile: WriteStream | null = null;
  const report: Reporter = (line, problem, username) => {
    summary.failed++;
    counts.failed++;
    const entry = { line, ...(username === undefined ? {} : { username }), code: problem.code, reason: problem.reason };
    if (reportFile !== null) reportFile.write(`${JSON.stringify(entry)}\n`);
    else io.stderr.write(`tessera: line ${line}${username === undefined ? '' : ` (${username})`}: ${problem.reason}\n`);
  };
  const progress = showProgress(io.stdout, counts);
  const started = Date.now();
  try {
    if (o.report !== null) reportFile = createWriteStream(o.report);
    const source = o.file === '-' ? io.stdin : createReadStream(o.file);
    const input = source.pipe(byteCounter(counts));
    source.on('error', (err: Error) => input.destroy(err));
    const mode = o.onConflict === 'update' ? 'update' : 'create';
    const seen = o.dryRun ? new SeenInFile() : null;
    const ignored = new Set<string>();
    let batch: { line: number; row: ImportUser }[] = [];
    const flush = async () => {
      const results = await writeBatch(c, batch, mode, o.dryRun, seen);
      for (const [i, r] of results.entries()) {
        const { line, row } = batch[i] as { line: number; row: ImportUser };
        const name = row.user.username;
        switch (r.status) {
          case 'created':
          case 'updated':
          case 'unchanged':
            summary[r.status]++;
            break;
          case 'exists':
            if (o.onConflict === 'fail') report(line, { code: 'exists', reason: `user ${name} already exists` }, name);
            else summary.skipped++;
            break;
          case 'email_taken':
            report(line, { code: 'email_taken', reason: `email ${row.user.email} is already another user's` }, name);
            break;
          case 'id_taken':
            report(line, { code: 'id_taken', reason: `id ${row.user.id} is already another user's` }, name);
            break;
          case 'id_mismatch':
            report(line, { code: 'id_mismatch', reason: `user ${name} exists with id ${r.id}, not ${row.user.id}` }, name);
            break;
        }
      }
      batch = [];
    };
    for await (const src of readRows(input, o.format)) {
      summary.rows++;
      counts.rows++;
      if ('problem' in src) {
        report(src.line, src.problem);
        continue;
      }
      if (o.format !== 'django')
        for (const k of Object.keys(src.fields)) if (!(ROW_COLUMNS as readonly string[]).includes(k)) ignored.add(k);
      const r = toImportUser(src.fields, o.format);
      if (!r.ok) {
        report(src.line, r.problem, usernameOf(src.fields, o.format));
        continue;
      }
      batch.push({ line: src.line, row: r.row });
      if (batch.length >= BATCH) await flush();
    }
    if (batch.length > 0) await flush();
    if (ignored.size > 0) io.stderr.write(`tessera: ignored unknown columns: ${[...ignored].sort().join(', ')}\n`);
  } finally {
    progress.stop();
    if (reportFile !== null) {
      reportFile.end();
      await finished(reportFile);
    }
    await c.close();
  }
  const seconds = (Date.now() - started) / 1000;
  const s = summary;
  io.stdout.write(
    `${o.dryRun ? 'dry run, nothing written: would import' : 'imported'} ${s.rows} rows: ${s.created} created, ${s.updated} updated, ` +
      `${s.unchanged} unchanged, ${s.skipped} skipped, ${s.failed} failed` +
      `${s.failed > 0 && o.report !== null ? ` (reasons in ${o.report})` : ''}; ${seconds.toFixed(1)} s, ${Math.round(s.rows / Math.max(seconds, 0.001))} rows/s\n`,
  );
  return summary;
}

/**
 * Writes one batch in file order: plain passwords hashed first (all at once, on the thread pool),
 * then putUsers scripts of SCRIPT_USERS users sent together, so they run in order. Each script
 * records what it created and updated as one event each, with their count: an import of a
 * million users is a few thousand audit events, not a million.
 */
async function writeBatch(
  c: CliContext,
  batch: readonly { line: number; row: ImportUser }[],
  mode: 'create' | 'update',
  dryRun: boolean,
  seen: SeenInFile | null,
): Promise<PutResult[]> {
  const users = await Promise.all(
    batch.map(async ({ row }) => {
      if (row.password === undefined) return row.user;
      if (dryRun) return { ...row.user, passwordHash: '!' };
      const existing = await c.users.get(row.user.username);
      // Re-importing a plain password keeps the hash it already has, so a re-run changes nothing.
      if (existing !== null && (mode === 'create' || (await c.hasher.verify(existing.passwordHash, row.password))))
        return { ...row.user, passwordHash: existing.passwordHash };
      return { ...row.user, passwordHash: await c.hasher.hash(row.password) };
    }),
  );
  // A dry run learns of rows met earlier in the file from memory, the store answers for the rest.
  const earlier = users.map((u) => seen?.check(u, mode) ?? null);
  const ask = users.filter((_, i) => earlier[i] === null);
  const calls: Promise<PutResult[]>[] = [];
  for (let i = 0; i < ask.length; i += SCRIPT_USERS) {
    const event = JSON.stringify(newEvent('user.changed', { dialect: 'cli', reason: 'import' }));
    calls.push(c.users.putMany(ask.slice(i, i + SCRIPT_USERS), { mode, dryRun, event }));
  }
  const answers = (await Promise.all(calls)).flat();
  return earlier.map((e) => e ?? (answers.shift() as PutResult));
}
