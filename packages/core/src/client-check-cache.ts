import { BoundedMap } from './bounded-map.ts';

/**
 * What /oauth/introspect and /oauth/revoke learnt of a client credential moments ago, so that a
 * service calling with the same credential again costs no Redis round trip (and a remembered
 * token is answered without a promise). Runtime-free: the clock is passed in.
 *
 * Accepted and refused credentials are kept apart, each bounded (the oldest go first): only a
 * credential that verified can take room among the accepted, so a caller sending made-up secrets
 * cannot push the services' own credentials out (as one store cleared when full could be made to).
 * A refusal is remembered only for a credential of ordinary length, so the refusals held take a
 * bounded amount of memory whatever callers send.
 */
export interface ClientCheckLimits {
  /** How long a verdict is remembered, ms (a removed client or secret is refused within it). */
  readonly ttlMs: number;
  /** Most accepted credentials remembered (a deployment has a handful of clients). */
  readonly maxAccepted: number;
  /** Most refused credentials remembered. */
  readonly maxRefused: number;
  /** Longest credential (id and secret, characters) whose refusal is remembered. */
  readonly maxRefusedLength: number;
}

export const CLIENT_CHECK_LIMITS: ClientCheckLimits = { ttlMs: 5000, maxAccepted: 1000, maxRefused: 1000, maxRefusedLength: 256 };

export class ClientCheckCache {
  private readonly accepted: BoundedMap<string, number>;
  private readonly refused: BoundedMap<string, number>;

  constructor(
    /** Whether `secret` is the secret of client `id` (asks the store). */
    private readonly verify: (id: string, secret: string) => Promise<boolean>,
    private readonly now: () => number,
    readonly limits: ClientCheckLimits = CLIENT_CHECK_LIMITS,
  ) {
    this.accepted = new BoundedMap(limits.maxAccepted);
    this.refused = new BoundedMap(limits.maxRefused);
  }

  /** What was said of this credential moments ago, if it is still remembered. */
  known(id: string, secret: string): boolean | undefined {
    const key = `${id}\u0000${secret}`;
    if (this.fresh(this.accepted, key)) return true;
    if (this.fresh(this.refused, key)) return false;
    return undefined;
  }

  /** Whether `secret` is the secret of client `id`: remembered, or asked and remembered. */
  async check(id: string, secret: string): Promise<boolean> {
    const known = this.known(id, secret);
    if (known !== undefined) return known;
    const ok = await this.verify(id, secret);
    const key = `${id}\u0000${secret}`;
    const { ttlMs, maxRefusedLength } = this.limits;
    if (ok) this.accepted.set(key, this.now() + ttlMs);
    else if (id.length + secret.length <= maxRefusedLength) this.refused.set(key, this.now() + ttlMs);
    return ok;
  }

  /** Credentials remembered now, accepted and refused. */
  get size(): { readonly accepted: number; readonly refused: number } {
    return { accepted: this.accepted.size, refused: this.refused.size };
  }

  private fresh(map: BoundedMap<string, number>, key: string): boolean {
    const until = map.get(key);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    map.delete(key);
    return false;
  }
}
