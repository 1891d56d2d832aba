import { ulid } from 'ulid';
import { type AuditEvent, MAX_EVENT_IDENTIFIER, MAX_EVENT_USER_AGENT } from './schema.ts';
import { EVENT_SCHEMA_VERSION, type EventType } from './types.ts';

/**
 * ulid's own source of randomness asks Web Crypto for one byte per character (16 calls per id,
 * the largest CPU cost of a token refresh); this one takes bytes from a pool refilled 4 KiB at a
 * time. Still crypto.getRandomValues, and byte / 256 is as uniform over ulid's 32 characters.
 */
const pool = new Uint8Array(4096);
let poolAt = pool.length;
function randomByteFraction(): number {
  if (poolAt === pool.length) {
    crypto.getRandomValues(pool);
    poolAt = 0;
  }
  return (pool[poolAt++] as number) / 256;
}

export type EventFields = Omit<AuditEvent, 'v' | 'id' | 'type' | 'at'>;

/** Builds an event with a fresh ULID; long free-text fields are cut to the schema's limits. */
export function newEvent(type: EventType, fields: EventFields, nowMs: number = Date.now()): AuditEvent {
  const clean: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== '') clean[k] = v;
  if (typeof clean.userAgent === 'string') clean.userAgent = clean.userAgent.slice(0, MAX_EVENT_USER_AGENT);
  if (typeof clean.identifier === 'string') clean.identifier = clean.identifier.slice(0, MAX_EVENT_IDENTIFIER);
  return { v: EVENT_SCHEMA_VERSION, id: ulid(nowMs, randomByteFraction), type, at: new Date(nowMs).toISOString(), ...clean } as AuditEvent;
}

/** An event as the outbox stores it: JSON. */
export function eventJson(...args: Parameters<typeof newEvent>): string {
  return JSON.stringify(newEvent(...args));
}

/** An operator's unlock of a lock (`a:<user id>`, `u:<username>`, `e:<email>`), as JSON. */
export function lockReleasedEvent(dialect: 'cli' | 'ops', lock: string): string {
  return eventJson('lockout.released', { dialect, identifier: lock, reason: 'admin', outcome: 'released' });
}
