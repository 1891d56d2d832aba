import { connect } from 'node:net';
import { type Reply, replyOf } from './http.ts';

// Raw HTTP/1.1 over a socket, for what fetch cannot send: pipelining, malformed heads.

export interface Exchange {
  readonly answers: Reply[];
  /** Whether the server closed the connection, and after how many ms. */
  readonly closed: boolean;
  readonly ms: number;
}

/** Splits the bytes a server sent into answers (Content-Length bodies; without one, up to the close). */
export function parseAnswers(raw: Buffer): Reply[] {
  const answers: Reply[] = [];
  let at = 0;
  while (at < raw.length) {
    const end = raw.indexOf('\r\n\r\n', at);
    if (end < 0) throw new Error(`incomplete answer head: ${JSON.stringify(raw.subarray(at).toString('latin1'))}`);
    const [statusLine = '', ...lines] = raw.subarray(at, end).toString('latin1').split('\r\n');
    const status = /^HTTP\/1\.1 (\d{3}) /.exec(statusLine);
    if (status === null) throw new Error(`not an HTTP/1.1 status line: ${JSON.stringify(statusLine)}`);
    const headers = new Headers();
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
    }
    const length = headers.get('content-length');
    const bodyEnd = length === null ? raw.length : end + 4 + Number(length);
    answers.push(replyOf(Number(status[1]), headers, raw.subarray(end + 4, bodyEnd).toString('utf8')));
    at = bodyEnd;
  }
  return answers;
}

/**
 * Writes `parts` on one connection (each its own write, `gapMs` apart) and collects what comes
 * back until the server closes, until `expect` answers are complete and the line stays quiet for
 * 300 ms, or until `waitMs`.
 */
export function exchange(
  port: number,
  parts: readonly (string | Buffer)[],
  options: { expect?: number; waitMs?: number; gapMs?: number } = {},
): Promise<Exchange> {
  const { expect: expected = Number.POSITIVE_INFINITY, waitMs = 5000, gapMs = 0 } = options;
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const started = performance.now();
    let quiet: NodeJS.Timeout | undefined;
    const finish = (closed: boolean) => {
      clearTimeout(quiet);
      clearTimeout(limit);
      socket.destroy();
      try {
        resolve({ answers: parseAnswers(Buffer.concat(chunks)), closed, ms: performance.now() - started });
      } catch (err) {
        reject(err);
      }
    };
    const limit = setTimeout(() => finish(false), waitMs);
    socket.on('data', (d) => {
      chunks.push(d);
      clearTimeout(quiet);
      let complete = 0;
      try {
        complete = parseAnswers(Buffer.concat(chunks)).length;
      } catch {
        // an answer still arriving
      }
      if (complete >= expected) quiet = setTimeout(() => finish(false), 300);
    });
    socket.on('close', () => finish(true));
    socket.on('error', () => undefined);
    socket.on('connect', async () => {
      for (const [i, part] of parts.entries()) {
        if (i > 0 && gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
        if (!socket.destroyed) socket.write(part);
      }
    });
  });
}
