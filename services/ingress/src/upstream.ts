import type { Settings } from '@tessera/config';
import type { Logger } from '@tessera/config/log';
import {
  type Dialect,
  type DialectName,
  jsonObject,
  type LoginCommand,
  type UpstreamCodec,
  type UpstreamRequest,
  type UpstreamUser,
  type UpstreamVerdict,
} from '@tessera/core';
import CircuitBreaker from 'opossum';
import { readLimited } from './adapter/body.ts';

/** The most of an upstream answer read: a login answer is a few hundred bytes. */
const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * Raised inside a call. `kind` says whether anything was sent; `trips` whether it tells of a sick
 * old system (no answer, a 5xx, not JSON) and so counts toward opening the circuit. A definite
 * refusal (a 4xx, a lock of its own) does not: anyone could send requests that earn one, and a
 * circuit they could open would shut every first login out for its cooldown.
 */
class UpstreamError extends Error {
  constructor(
    readonly kind: 'failed' | 'unreachable',
    message: string,
    readonly trips = true,
  ) {
    super(message);
  }
}

/**
 * Errors of the connection phase, TLS handshake included (nothing was sent), by Node's codes and
 * Deno's messages: an expired certificate on the old system must not lock its users out.
 */
const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);
function nothingSent(err: unknown): boolean {
  const cause = (err as { cause?: { code?: string } }).cause;
  if (cause?.code !== undefined) return CONNECT_CODES.has(cause.code) || /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY/.test(cause.code);
  // Deno: "fetch failed", with the reason in its cause's text
  return /connection refused|dns error|failed to lookup|no such host|network is unreachable|no route to host|client error \(connect\)|certificate|tls/i.test(
    `${(err as Error).message} ${String(cause ?? '')}`,
  );
}

/** The answer's text, at most MAX_ANSWER_BYTES (a larger one is no answer). */
async function readAnswer(res: Response): Promise<string> {
  const body = await readLimited(res.body, MAX_ANSWER_BYTES);
  if (body === null) throw new UpstreamError('failed', `answer over ${MAX_ANSWER_BYTES} bytes`);
  return new TextDecoder().decode(body);
}

/**
 * One dialect's old system, as its clients call it: `fetch` (Node and Deno alike) with a timeout
 * on the whole exchange, and a circuit breaker (opossum) that stops calling a system that keeps
 * failing, answering "unreachable" at once until a trial call succeeds again.
 */
export class Upstream {
  private readonly breaker: CircuitBreaker<[LoginCommand, string], UpstreamVerdict>;

  constructor(
    readonly dialect: DialectName,
    readonly url: string,
    private readonly codec: UpstreamCodec,
    private readonly settings: Settings['upstream'],
    private readonly log: Logger,
  ) {
    this.breaker = new CircuitBreaker((command: LoginCommand, ip: string) => this.call(command, ip), {
      // fetch's own signal times a call out (and aborts it); the breaker only counts.
      timeout: false,
      errorThresholdPercentage: 50,
      volumeThreshold: settings.breakerVolume,
      rollingCountTimeout: 10_000,
      rollingCountBuckets: 10,
      resetTimeout: settings.breakerCooldownMs,
      errorFilter: (err: unknown) => err instanceof UpstreamError && !err.trips,
    });
    this.breaker.on('open', () => log.warn('upstream circuit open', { dialect, cooldownMs: settings.breakerCooldownMs }));
    this.breaker.on('close', () => log.info('upstream circuit closed', { dialect }));
  }

  /** Calls in flight now: beyond `concurrency` a login is refused before the breaker sees it. */
  private inFlight = 0;

  /** What the old system says of these credentials; never throws. */
  async ask(command: LoginCommand, ip: string): Promise<UpstreamVerdict> {
    // Kept outside the breaker: opossum counts its own capacity refusals as failures, so a burst
    // of anonymous first logins would open the circuit for everyone.
    if (this.inFlight >= this.settings.concurrency)
      return { kind: 'unreachable', detail: `over ${this.settings.concurrency} calls in flight` };
    this.inFlight++;
    try {
      return await this.breaker.fire(command, ip);
    } catch (err) {
      if (err instanceof UpstreamError) {
        this.log.warn('upstream login failed', { dialect: this.dialect, kind: err.kind, detail: err.message });
        return { kind: err.kind, detail: err.message };
      }
      if ((err as { code?: string }).code === 'EOPENBREAKER') return { kind: 'unreachable', detail: 'circuit open' };
      this.log.error('upstream login failed', { dialect: this.dialect, err });
      return { kind: 'failed', detail: (err as Error).message };
    } finally {
      this.inFlight--;
    }
  }

  close(): void {
    this.breaker.shutdown();
  }

  private async call(command: LoginCommand, ip: string): Promise<UpstreamVerdict> {
    const [status, body] = await this.post(this.url, this.codec.login(command), ip);
    const reading = this.codec.readLogin(status, body);
    // a 4xx never opens the circuit, whatever its body: anyone can earn one (a proxy's error page too)
    if (reading.kind === 'failed') throw new UpstreamError('failed', reading.detail, status < 400 && jsonObject(body) === null);
    if (reading.kind === 'rejected') return reading;
    return { kind: 'accepted', user: { ...reading.user, ...(await this.details(reading.token, ip)) } };
  }

  /**
   * What the old system's second call says of the user (PEB's check). When it has one and it
   * fails, the login is not taken: a user created without the old system's username and id would
   * become a second account at its next login by username. Not counted: the password was right.
   */
  private async details(token: string | undefined, ip: string): Promise<UpstreamUser> {
    const d = this.codec.details;
    if (d === undefined || token === undefined) return {};
    const url = new URL(this.url);
    url.pathname = `${url.pathname.replace(/\/+$/, '')}${d.path}`;
    let told: UpstreamUser | null;
    try {
      told = d.read(...(await this.post(url.href, d.request(token), ip)));
    } catch (err) {
      throw new UpstreamError('unreachable', `the old system vouched, but its check failed: ${(err as Error).message}`);
    }
    if (told === null) throw new UpstreamError('unreachable', 'the old system vouched, but its check did not name the user');
    return told;
  }

  private async post(url: string, req: UpstreamRequest, ip: string): Promise<[number, string]> {
    const signal = AbortSignal.timeout(this.settings.timeoutMs);
    try {
      const res: Response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': req.contentType, accept: 'application/json', 'user-agent': 'tessera-migration', 'x-forwarded-for': ip },
        body: req.body,
        redirect: 'error',
        signal,
      });
      const text = await readAnswer(res);
      if (res.status >= 500) throw new UpstreamError('failed', `HTTP ${res.status}`);
      return [res.status, text];
    } catch (err) {
      if (err instanceof UpstreamError) throw err;
      if (signal.aborted) throw new UpstreamError('failed', `no answer within ${this.settings.timeoutMs} ms`);
      throw new UpstreamError(
        nothingSent(err) ? 'unreachable' : 'failed',
        String((err as { cause?: unknown }).cause ?? (err as Error).message),
      );
    }
  }
}

/** The configured old systems of this process, one per dialect, opened at first use. */
export class Upstreams {
  private readonly open = new Map<DialectName, Upstream>();

  constructor(
    private readonly settings: Settings['upstream'],
    private readonly log: Logger,
  ) {
    for (const [dialect, url] of Object.entries(settings.urls)) {
      const u = new URL(url);
      if (u.protocol === 'http:' && !/^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/.test(u.hostname))
        log.warn('upstream over plain http: the passwords of first logins cross the network in clear', { dialect, host: u.host });
    }
  }

  has(dialect: DialectName): boolean {
    return this.settings.urls[dialect] !== undefined;
  }

  ask(dialect: Dialect, command: LoginCommand, ip: string): Promise<UpstreamVerdict> {
    let u = this.open.get(dialect.name);
    const url = this.settings.urls[dialect.name];
    if (u === undefined) {
      if (url === undefined) return Promise.resolve({ kind: 'unreachable', detail: `no upstream for ${dialect.name}` });
      u = new Upstream(dialect.name, url, dialect.upstream, this.settings, this.log);
      this.open.set(dialect.name, u);
    }
    return u.ask(command, ip);
  }

  close(): void {
    for (const u of this.open.values()) u.close();
    this.open.clear();
  }
}
