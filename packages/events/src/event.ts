import { type AuditEvent, EVENT_SCHEMA_VERSION, type EventType } from './types.ts';

export type EventFields = Omit<AuditEvent, 'v' | 'id' | 'type' | 'at'>;

/** Crockford's base32, the ULID alphabet. */
const BASE32 = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** Random bytes drawn 1 KiB at a time: one CSPRNG call per 64 ids instead of one per character. */
const random = new Uint8Array(1024);
let used = random.length;

/**
 * A ULID (https://github.com/ulid/spec): 48-bit milliseconds in 10 characters, then 80 random bits
 * in 16 (each character one byte masked to 5 bits: 256 is a multiple of 32, so uniform).
 */
export function newUlid(nowMs: number): string {
  let time = '';
  for (let t = Math.floor(nowMs), i = 0; i < 10; i++, t = Math.floor(t / 32)) time = BASE32[t % 32] + time;
  if (used + 16 > random.length) {
    crypto.getRandomValues(random);
    used = 0;
  }
  let rand = '';
  for (let i = 0; i < 16; i++) rand += BASE32[(random[used++] as number) & 31];
  return time + rand;
}

/** Builds an event with a fresh ULID; long free-text fields are cut to the schema's limits. */
export function newEvent(type: EventType, fields: EventFields, nowMs: number = Date.now()): AuditEvent {
  const clean: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== '') clean[k] = v;
  if (typeof clean.userAgent === 'string') clean.userAgent = clean.userAgent.slice(0, 512);
  if (typeof clean.identifier === 'string') clean.identifier = clean.identifier.slice(0, 254);
  return { v: EVENT_SCHEMA_VERSION, id: newUlid(nowMs), type, at: new Date(nowMs).toISOString(), ...clean } as AuditEvent;
}
