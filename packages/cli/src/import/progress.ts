import { Presets, SingleBar } from 'cli-progress';

/** What an import has done so far; the import updates it, the progress display reads it. */
export interface ImportCounts {
  rows: number;
  failed: number;
  /** Bytes of the input read, and its size when known (a file, not a pipe). */
  bytes: number;
  readonly totalBytes: number | null;
}

const rate = (rows: number, ms: number) => Math.round(rows / Math.max(ms / 1000, 0.001));

/**
 * Shows an import's progress until `stop()`. On a terminal, a bar (cli-progress) redrawn in place
 * ten times a second: share of the input read when its size is known, rows, rows/s, errors.
 * Elsewhere (a pipe, a log file), one plain line every `everyMs`, and one at the end.
 */
export function showProgress(
  out: NodeJS.WritableStream & { isTTY?: boolean },
  counts: ImportCounts,
  everyMs = 1000,
  now: () => number = Date.now,
): { stop(): void } {
  const started = now();
  const sized = counts.totalBytes !== null && counts.totalBytes > 0;
  if (out.isTTY === true) {
    const bar = new SingleBar(
      {
        stream: out,
        format: sized
          ? 'importing {bar} {percentage}% | {rows} rows | {rate} rows/s | {failed} errors'
          : 'importing {rows} rows | {rate} rows/s | {failed} errors',
        hideCursor: true,
        fps: 10,
      },
      Presets.shades_classic,
    );
    const values = () => ({ rows: counts.rows, rate: rate(counts.rows, now() - started), failed: counts.failed });
    bar.start(sized ? (counts.totalBytes as number) : 1, 0, values());
    const timer = setInterval(() => bar.update(sized ? counts.bytes : 0, values()), 100);
    timer.unref();
    return {
      stop: () => {
        clearInterval(timer);
        bar.update(sized ? (counts.totalBytes as number) : 0, values());
        bar.stop();
      },
    };
  }
  const line = () => {
    const share = sized ? ` (${Math.min(100, Math.floor((100 * counts.bytes) / (counts.totalBytes as number)))}% of the input)` : '';
    out.write(`importing: ${counts.rows} rows${share}, ${rate(counts.rows, now() - started)} rows/s, ${counts.failed} errors\n`);
  };
  const timer = setInterval(line, everyMs);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      line();
    },
  };
}
