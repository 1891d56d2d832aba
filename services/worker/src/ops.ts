import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Settings } from '@tessera/config';
import type { Logger } from '@tessera/config/log';
import { parseContentType } from '@tessera/core';
import { auditStreamKey, lockReleasedEvent } from '@tessera/events';
import { blockingReader, keyLayout, LoginGate, lockName, type TesseraRedis } from '@tessera/store';
import type { Queue } from 'bullmq';
import type { Registry } from 'prom-client';
import { DASHBOARD_HTML } from './dashboard-page.ts';
import { createSummary } from './summary.ts';

export interface OpsDeps {
  readonly settings: Settings;
  readonly redis: TesseraRedis;
  readonly queue: Queue;
  readonly registry: Registry;
  readonly log: Logger;
  isRunning(): boolean;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** HTTP Basic against the configured ops credential; no password configured: nobody. */
function authorized(req: IncomingMessage, settings: Settings): boolean {
  if (settings.ops.password === '') return false;
  const m = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (m === null) return false;
  const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon > 0 && same(decoded.slice(0, colon), settings.ops.user) && same(decoded.slice(colon + 1), settings.ops.password);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

/**
 * Whether a request comes from a page of this server, or from no page at all. A browser names the
 * page's origin in `Origin` (on every POST) and, in `Sec-Fetch-Site`, how it relates to the target;
 * either, when present, must say "this server": `Origin` equal to this server's own origin (the
 * `Host` it was reached by, over http, or the scheme a TLS proxy gives in `X-Forwarded-Proto`, a
 * header no page can add to a cross-site request without a CORS preflight, which this server never
 * grants), `Sec-Fetch-Site` `same-origin` or `none` (typed in by the user). Without either (curl
 * and other non-browser clients) the request is allowed: HTTP Basic still guards it.
 */
function sameOrigin(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  const host = req.headers.host;
  if (host === undefined) return false;
  const proto = (req.headers['x-forwarded-proto'] as string | undefined)?.split(',')[0]?.trim().toLowerCase();
  try {
    return new URL(origin).origin === new URL(`${proto === 'https' ? 'https' : 'http'}://${host}`).origin;
  } catch {
    return false;
  }
}

async function readJson(req: IncomingMessage, limit = 4096): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw new Error('too large');
    chunks.push(c as Buffer);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

/**
 * The worker's ops port: /healthz and /metrics (open, for probes and scrapers), and behind the
 * ops credential the dashboard, its JSON summary, the live event stream (SSE) and unlocking.
 */
export function createOpsServer(deps: OpsDeps): Server {
  const { settings, redis } = deps;
  const summary = createSummary(settings, redis, deps.queue, deps.log);
  const gate = new LoginGate(redis, keyLayout(settings.redisPrefix, settings.accountShards), settings.lockout);
  const stream = auditStreamKey(settings.redisPrefix);
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      const ok = deps.isRunning();
      return json(res, ok ? 200 : 503, ok ? { status: 'ok' } : { status: 'stopped' });
    }
    if (path === '/metrics') {
      deps.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': deps.registry.contentType });
          res.end(text);
        },
        () => json(res, 503, { error: 'metrics unavailable' }),
      );
      return;
    }
    if (!['/', '/dashboard', '/api/summary', '/api/events', '/api/unlock'].includes(path ?? ''))
      return json(res, 404, { error: 'not_found' });
    if (!authorized(req, settings)) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="tessera-ops", charset="UTF-8"', 'content-type': 'application/json' });
      res.end(settings.ops.password === '' ? '{"error":"the dashboard is off: set TESSERA_OPS_PASSWORD"}' : '{"error":"unauthorized"}');
      return;
    }
    if (path === '/' || path === '/dashboard') {
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        'content-security-policy': "default-src 'self' 'unsafe-inline'",
      });
      res.end(DASHBOARD_HTML);
      return;
    }
    if (path === '/api/summary') {
      summary().then(
        (s) => json(res, 200, s),
        (err: Error) => json(res, 503, { error: err.message }),
      );
      return;
    }
    if (path === '/api/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.write(': tessera audit events\n\n');
      const reader = blockingReader(redis);
      reader.on('error', () => {});
      let open = true;
      req.on('close', () => {
        open = false;
        reader.disconnect();
      });
      void (async () => {
        // the last 20 events first, then new ones as they arrive
        const recent = await reader.xrevrange(stream, '+', '-', 'COUNT', 20).catch(() => []);
        let last = recent[0]?.[0] ?? '$';
        for (const [, fields] of recent.reverse()) res.write(`data: ${fields[fields.indexOf('e') + 1]}\n\n`);
        while (open) {
          const got = (await reader.xread('BLOCK', 1000, 'STREAMS', stream, last).catch(() => null)) as
            | [string, [string, string[]][]][]
            | null;
          for (const [id, fields] of got?.[0]?.[1] ?? []) {
            last = id;
            res.write(`data: ${fields[fields.indexOf('e') + 1]}\n\n`);
          }
        }
      })();
      return;
    }
    // POST /api/unlock {"identifier": "a:7" | "u:alice" | "alice" | "alice@example.com"}: a change of state,
    // so only JSON (a page elsewhere can post forms and text/plain without a CORS preflight, not
    // JSON) and only from this server's own pages (cross-site request forgery against an operator
    // whose browser holds the Basic credential)
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' });
      res.end();
      return;
    }
    if (!sameOrigin(req)) return json(res, 403, { error: 'cross-origin request refused: use the dashboard on this server' });
    if (parseContentType(req.headers['content-type'] ?? '').mediaType !== 'application/json')
      return json(res, 415, { error: 'unsupported media type: send application/json' });
    readJson(req).then(
      async (body) => {
        const raw = (body as { identifier?: unknown }).identifier;
        if (typeof raw !== 'string' || raw === '' || raw.length > 300) return json(res, 400, { error: 'identifier required' });
        const cleared = await gate.clear(raw, (lock) => lockReleasedEvent('ops', lock));
        return json(res, cleared !== null ? 200 : 404, cleared !== null ? { cleared } : { error: `${lockName(raw)} is not locked` });
      },
      () => json(res, 400, { error: 'a JSON body {"identifier": ...} is required' }),
    );
  });
}
