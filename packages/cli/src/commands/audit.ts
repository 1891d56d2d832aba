import { parseArgs } from 'node:util';
import { type AuditEvent, auditEventCheck, auditStreamKey, EVENT_TYPES, readAuditEntry, skippedEntryLine } from '@tessera/events';
import { blockingReader } from '@tessera/store';
import { type CliContext, CliError, unknownVerb } from '../context.ts';
import type { Io } from './users.ts';

export const AUDIT_HELP = 'tessera audit tail [--follow] [--type T] [-n N]   the latest audit events, one JSON line each';

type Entries = [string, [string, string[]][]][] | null;

/** What `audit tail` writes to: events on `out`, a one-line warning per stream entry that is no audit event on `warn`. */
export interface AuditIo extends Io {
  warn(line: string): void;
}

export async function auditCommand(argv: string[], ctx: () => Promise<CliContext>, io: AuditIo, signal?: AbortSignal): Promise<void> {
  const [verb, ...rest] = argv;
  if (verb !== 'tail') throw unknownVerb('audit', verb, 'tail');
  let values: { follow?: boolean; type?: string[]; n?: string };
  try {
    values = parseArgs({
      args: rest,
      options: { follow: { type: 'boolean' }, type: { type: 'string', multiple: true }, n: { type: 'string', short: 'n' } },
      strict: true,
    }).values;
  } catch (err) {
    throw new CliError((err as Error).message, 2);
  }
  const types = values.type ?? [];
  for (const t of types)
    if (!(EVENT_TYPES as readonly string[]).includes(t))
      throw new CliError(`unknown event type ${t} (one of ${EVENT_TYPES.join(', ')})`, 2);
  const count = values.n === undefined ? 20 : Number(values.n);
  if (!Number.isInteger(count) || count < 1) throw new CliError('-n takes a whole number above 0', 2);
  const wanted = (e: AuditEvent | null): e is AuditEvent => e !== null && (types.length === 0 || types.includes(e.type));
  const check = await auditEventCheck();
  const eventOf = (id: string, fields: string[]): AuditEvent | null => {
    const entry = readAuditEntry(fields, check);
    if ('event' in entry) return entry.event;
    io.warn(skippedEntryLine({ id, reason: entry.invalid }));
    return null;
  };
  const c = await ctx();
  const stream = auditStreamKey(c.settings.redisPrefix);
  try {
    // newest last, like tail: read backwards until `count` matching events are found
    const found: AuditEvent[] = [];
    let end = '+';
    // --follow goes on after the newest entry there was, not from whatever comes once its own
    // connection is up ('$'): an event appended meanwhile is not lost
    let newest: string | undefined;
    while (found.length < count) {
      const batch = await c.redis.xrevrange(stream, end, '-', 'COUNT', 500);
      if (batch.length === 0) break;
      newest ??= (batch[0] as [string, string[]])[0];
      for (const [id, fields] of batch) {
        const e = eventOf(id, fields);
        if (wanted(e) && found.length < count) found.push(e);
      }
      end = `(${(batch[batch.length - 1] as [string, string[]])[0]}`;
    }
    for (const e of found.reverse()) io.out(JSON.stringify(e));
    if (values.follow !== true) return;
    const reader = blockingReader(c.redis);
    let last = newest ?? '0-0';
    try {
      while (signal?.aborted !== true) {
        const res = (await reader.xread('BLOCK', 1000, 'STREAMS', stream, last)) as Entries;
        for (const [id, fields] of res?.[0]?.[1] ?? []) {
          last = id;
          const e = eventOf(id, fields);
          if (wanted(e)) io.out(JSON.stringify(e));
        }
      }
    } finally {
      reader.disconnect();
    }
  } finally {
    await c.close();
  }
}
