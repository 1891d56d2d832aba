import { closeSync, createReadStream, createWriteStream, openSync, realpathSync, statSync, type WriteStream } from 'node:fs';
import { type Readable, Transform } from 'node:stream';
import { finished } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import type { PutResult } from '@tessera/store';
import { keyLayout } from '@tessera/store';
import { type CliContext, CliError } from '../context.ts';
import { type ImportCounts, showProgress } from '../import/progress.ts';
import { type ImportFormat, type RowProblem, readRows } from '../import/read.ts';
import { type ImportUser, ROW_COLUMNS, toImportUser } from '../import/row.ts';
import { BatchWriter, DryRunLedger, revokeDue } from '../import/write.ts';

export const IMPORT_HELP = `tessera users import FILE|- [--format ndjson|csv|django] [--on-conflict skip|update|fail]
                    [--dry-run] [--report FILE]`;

/**
 * A batch: rows read before a write (bad rows included), read while the batches before are
 * written (BatchWriter). At most BATCH_ROWS (about 50 users per account shard's script), or the
 * rows of BATCH_BYTES of input, so that long rows keep the importer's memory bounded too.
 */
const BATCH_ROWS = 2400;
const BATCH_BYTES = 1 << 20;

/** Unknown column names kept to tell (the first ones met): a file may name any number of them. */
const IGNORED_NAMES = 20;

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

/** The size of an input file (for the progress display); a usage error when it is not a readable file. */
function inputSize(file: string): number {
  let size: number;
  try {
    const st = statSync(file);
    if (st.isDirectory()) throw new CliError(`cannot read ${file}: it is a folder`, 2);
    size = st.size;
    closeSync(openSync(file, 'r'));
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 2);
  }
  return size;
}

/** Opens the report file before anything is read; a usage error when it cannot be written or is the input. */
async function openReport(path: string, input: string): Promise<WriteStream> {
  const same = (a: string, b: string) => {
    try {
      return realpathSync(a) === realpathSync(b);
    } catch {
      return false;
    }
  };
  if (input !== '-' && same(path, input)) throw new CliError(`--report ${path} is the input file`, 2);
  const out = createWriteStream(path);
  await new Promise<void>((resolve, reject) => {
    out.once('open', () => resolve());
    out.once('error', (err: NodeJS.ErrnoException) =>
      reject(new CliError(`cannot write the report ${path}: ${err.code ?? err.message}`, 2)),
    );
  });
  return out;
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
  const totalBytes = o.file === '-' ? null : inputSize(o.file);
  const reportFile = o.report === null ? null : await openReport(o.report, o.file);
  const c = await ctx();
  const counts: ImportCounts = { rows: 0, failed: 0, bytes: 0, totalBytes };
  const summary: ImportSummary = { rows: 0, created: 0, updated: 0, unchanged: 0, skipped: 0, failed: 0 };
  const report: Reporter = (line, problem, username) => {
    summary.failed++;
    counts.failed++;
    const entry = { line, ...(username === undefined ? {} : { username }), code: problem.code, reason: problem.reason };
    if (reportFile !== null) reportFile.write(`${JSON.stringify(entry)}\n`);
    else io.stderr.write(`tessera: line ${line}${username === undefined ? '' : ` (${username})`}: ${problem.reason}\n`);
  };
  const progress = showProgress(io.stdout, counts);
  const started = Date.now();
  // the batch being written (the next is read meanwhile)
  let writing: Promise<void> = Promise.resolve();
  let closing: BatchWriter | null = null;
  try {
    const source = o.file === '-' ? io.stdin : createReadStream(o.file);
    const input = source.pipe(byteCounter(counts));
    source.on('error', (err: Error) => input.destroy(err));
    const mode = o.onConflict === 'update' ? 'update' : 'create';
    const ledger = o.dryRun
      ? new DryRunLedger(Number((await c.redis.get(keyLayout(c.settings.redisPrefix, c.settings.accountShards).userSeq)) ?? 0))
      : null;
    // what an earlier run that was killed left to revoke
    if (!o.dryRun) await revokeDue(c);
    const ignored = new Set<string>();
    let ignoredMore = false;
    // a batch's rows and bad rows in file order: each told (counted, reported) in that order once
    // the batch is written; the next batch is read meanwhile
    type Item = { line: number; row: ImportUser } | { line: number; problem: RowProblem; username: string | undefined };
    let batch: Item[] = [];
    const tell = (items: readonly Item[], results: readonly PutResult[]) => {
      let at = 0;
      for (const item of items) {
        if ('problem' in item) {
          report(item.line, item.problem, item.username);
          continue;
        }
        const { line, row } = item;
        const r = results[at++] as PutResult;
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
          case 'ids_exhausted':
            report(line, { code: 'id_taken', reason: 'no user id left to give' }, name);
            break;
        }
      }
    };
    const writer = new BatchWriter(c, mode, ledger);
    closing = writer;
    // a batch that failed ends the run at once: reading stops (the input is destroyed with the
    // error, which the loop then throws), the batches before it are still told
    let failure: { readonly error: unknown } | null = null;
    const fail = (error: unknown) => {
      failure ??= { error };
      source.destroy();
      input.destroy(error instanceof Error ? error : new Error(String(error)));
    };
    // so does a report that cannot be written (a full disk): the rest would go unreported
    reportFile?.on('error', fail);
    let batchFrom = 0;
    const full = () => batch.length >= BATCH_ROWS || counts.bytes - batchFrom >= BATCH_BYTES;
    const flush = async () => {
      if (failure !== null) throw failure.error;
      const items = batch;
      batch = [];
      batchFrom = counts.bytes;
      // (a batch of bad rows only goes through the writer too: it waits as a batch does)
      const { results } = await writer.start(items.flatMap((item) => ('row' in item ? [item.row] : [])));
      results.catch(fail);
      const told = writing.then(() => results).then((r) => tell(items, r));
      // (its failure is the batch's, handled above)
      told.catch(() => {});
      writing = told;
    };
    for await (const src of readRows(input, o.format)) {
      summary.rows++;
      counts.rows++;
      if ('problem' in src) {
        batch.push({ line: src.line, problem: src.problem, username: undefined });
        if (full()) await flush();
        continue;
      }
      if (o.format !== 'django')
        for (const k of Object.keys(src.fields))
          if (!(ROW_COLUMNS as readonly string[]).includes(k) && !ignored.has(k)) {
            if (ignored.size < IGNORED_NAMES) ignored.add(k);
            else ignoredMore = true;
          }
      const r = toImportUser(src.fields, o.format);
      if (!r.ok) {
        batch.push({ line: src.line, problem: r.problem, username: usernameOf(src.fields, o.format) });
        if (full()) await flush();
        continue;
      }
      batch.push({ line: src.line, row: r.row });
      if (full()) await flush();
    }
    await flush();
    await writing;
    if (ignored.size > 0)
      io.stderr.write(`tessera: ignored unknown columns: ${[...ignored].sort().join(', ')}${ignoredMore ? ' and more' : ''}\n`);
  } finally {
    // a run that fails while reading lets the batch being written finish (or fail) first
    await writing.catch(() => {});
    await closing?.close();
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
