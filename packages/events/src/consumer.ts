import { type AuditEvent, type AuditEventCheck, auditEventCheck } from './schema.ts';

/** What the consumer helper needs of a Redis client: ioredis's generic `call`. */
export interface StreamClient {
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
}

export interface ConsumeOptions {
  /** The audit stream key (`auditStreamKey(prefix)`). */
  readonly stream: string;
  /** Consumer group: each group receives every event once; consumers of a group share them. */
  readonly group: string;
  readonly consumer: string;
  /** Where a new group starts: '$' (only new events, default) or '0' (the whole stream). */
  readonly from?: '$' | '0';
  /** Longest wait for new events per read, ms (default 1000). */
  readonly blockMs?: number;
  /**
   * Called for an entry that is not an audit event (no `e` field, not JSON, or outside
   * `AUDIT_EVENT_SCHEMA`): it is not handed to `handle`, and is acknowledged so it does not hold
   * the group up (it stays in the stream for XRANGE). Default: a warning on stderr.
   */
  readonly onInvalid?: (entry: InvalidEntry) => unknown;
}

/** A stream entry that is not an audit event: its stream id and why. */
export interface InvalidEntry {
  readonly id: string;
  readonly reason: string;
}

/** The event of an audit stream entry (field `e`, JSON), or why the entry holds none. */
export function readAuditEntry(fields: readonly string[], check: AuditEventCheck): { event: AuditEvent } | { invalid: string } {
  let text: string | undefined;
  for (let k = fields.length - 2; k >= 0; k -= 2) if (fields[k] === 'e') text = fields[k + 1];
  if (text === undefined) return { invalid: 'no field e' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { invalid: 'not JSON' };
  }
  const problem = check(value);
  return problem === undefined ? { event: value as AuditEvent } : { invalid: problem };
}

/** The one-line warning about a skipped stream entry that is no audit event. */
export function skippedEntryLine(entry: InvalidEntry): string {
  return `audit stream entry ${entry.id} skipped: ${entry.reason}`;
}

const warnInvalid = (entry: InvalidEntry) => console.warn(skippedEntryLine(entry));

type Entries = [string, [string, string[]][]][] | null;

/**
 * Reads the audit stream as one consumer of a group, calling `handle` for each event and
 * acknowledging it after (entries that are no event go to `options.onInvalid` instead). Events handled but not acknowledged (a crash) come again: handlers
 * deduplicate by `event.id`. Resolves when `signal` aborts.
 *
 * ```ts
 * const redis = new Redis(url);
 * const stop = new AbortController();
 * await consumeAudit(redis, { stream: auditStreamKey('tessera:'), group: 'dashboard', consumer: 'web-1' },
 *   (e) => console.log(e.type, e.identifier), stop.signal);
 * ```
 */
export async function consumeAudit(
  redis: StreamClient,
  options: ConsumeOptions,
  handle: (event: AuditEvent) => unknown,
  signal?: AbortSignal,
): Promise<void> {
  try {
    await redis.call('XGROUP', 'CREATE', options.stream, options.group, options.from ?? '$', 'MKSTREAM');
  } catch (err) {
    if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
  }
  const check = await auditEventCheck();
  // First what this consumer received but never acknowledged, then new events.
  let cursor = '0';
  while (signal?.aborted !== true) {
    const res = (await redis.call(
      'XREADGROUP',
      'GROUP',
      options.group,
      options.consumer,
      'COUNT',
      100,
      'BLOCK',
      options.blockMs ?? 1000,
      'STREAMS',
      options.stream,
      cursor,
    )) as Entries;
    const entries = res?.[0]?.[1] ?? [];
    if (cursor === '0' && entries.length === 0) {
      cursor = '>';
      continue;
    }
    for (const [id, fields] of entries) {
      const entry = readAuditEntry(fields, check);
      if ('event' in entry) await handle(entry.event);
      else await (options.onInvalid ?? warnInvalid)({ id, reason: entry.invalid });
      await redis.call('XACK', options.stream, options.group, id);
    }
  }
}
