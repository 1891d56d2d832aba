import { request } from 'node:http';
import type { TesseraRedis } from '@tessera/store';
import { validateResponse } from './openapi.ts';
import { outboxEntries, testKeys } from './stack.ts';

export interface LoginFromOptions {
  /** Sent as given; an array is sent as that many field lines. */
  readonly headers?: Record<string, string | string[]>;
  /** The local address to send from (default 127.0.0.1). */
  readonly from?: string;
  /** A JSON login route (default NEHR's). */
  readonly path?: string;
}

/**
 * A wrong-password login sent from `from`: any 127.x.y.z, as the loopback network is local, so a
 * test can be a trusted proxy at 127.0.0.1 and an untrusted peer at 127.0.0.2. Resolves with the
 * HTTP status.
 */
export function loginFrom(base: string, username: string, options: LoginFromOptions = {}): Promise<number> {
  const { headers = {}, from: localAddress = '127.0.0.1', path = '/nehrapi/login/getToken' } = options;
  const body = JSON.stringify({ username, password: 'not-the-password' });
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path,
        method: 'POST',
        localAddress,
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            const answer = new Headers();
            for (const [name, value] of Object.entries(res.headers)) if (typeof value === 'string') answer.set(name, value);
            validateResponse('POST', path, res.statusCode as number, answer, Buffer.concat(chunks).toString('utf8'));
            resolve(res.statusCode as number);
          } catch (err) {
            reject(err);
          }
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The client address each login event of the outbox names, by identifier (`u:<username>`), in order. */
export async function loginAddresses(redis: TesseraRedis, prefix: string): Promise<Record<string, string[]>> {
  const byIdentifier: Record<string, string[]> = {};
  for (const [, fields] of await outboxEntries(redis, testKeys(prefix))) {
    const event = JSON.parse(fields[1] as string) as { type: string; identifier?: string; ip?: string };
    if (!event.type.startsWith('login.') || event.identifier === undefined) continue;
    byIdentifier[event.identifier] = [...(byIdentifier[event.identifier] ?? []), event.ip ?? ''];
  }
  return byIdentifier;
}
