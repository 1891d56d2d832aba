import { ulid } from 'ulid';
import { type AuditEvent, EVENT_SCHEMA_VERSION, type EventType } from './types.ts';

export type EventFields = Omit<AuditEvent, 'v' | 'id' | 'type' | 'at'>;

/** Builds an event with a fresh ULID; long free-text fields are cut to the schema's limits. */
export function newEvent(type: EventType, fields: EventFields, nowMs: number = Date.now()): AuditEvent {
  const clean: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== '') clean[k] = v;
  if (typeof clean.userAgent === 'string') clean.userAgent = clean.userAgent.slice(0, 512);
  if (typeof clean.identifier === 'string') clean.identifier = clean.identifier.slice(0, 254);
  return { v: EVENT_SCHEMA_VERSION, id: ulid(nowMs), type, at: new Date(nowMs).toISOString(), ...clean } as AuditEvent;
}
