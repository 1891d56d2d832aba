/** Event types, schema, queue names and stream keys shared by producers, the worker and consumers. */

export { type ConsumeOptions, consumeAudit, type InvalidEntry, readAuditEntry, type StreamClient, skippedEntryLine } from './consumer.ts';
export { type EventFields, eventJson, lockReleasedEvent, newEvent } from './event.ts';
export {
  type LoginAttempt,
  type LoginEnd,
  type LoginEvents,
  loginEvents,
  loginRefusedEvent,
  passwordRehashedEvent,
  userMigratedEvent,
} from './login.ts';
export { AUDIT_EVENT_SCHEMA, type AuditEvent, type AuditEventCheck, auditEventCheck } from './schema.ts';
export { type TokenRevocation, tokenRefreshedEvent, tokenRevokedEvent } from './token.ts';
export { DIALECTS, type Dialect, EVENT_SCHEMA_VERSION, EVENT_TYPES, type EventType } from './types.ts';

/** The BullMQ queue that carries audit events to the worker. */
export const AUDIT_QUEUE = 'audit';

/**
 * BullMQ key prefix: the Redis prefix plus a `{…}` hash tag, so every key of a queue lands in one
 * slot and BullMQ's scripts run on Redis Cluster.
 */
export function queuePrefix(redisPrefix: string): string {
  return `${redisPrefix}{bull}`;
}

/** The capped audit stream ops consumers read (any number of consumer groups). */
export function auditStreamKey(redisPrefix: string): string {
  return `${redisPrefix}{audit}:stream`;
}
