/**
 * Audit events: one per security-relevant change, committed with the change it describes.
 * Never carries a password, a token or a secret (token hashes are not included either).
 * The event's shape is one schema, `AUDIT_EVENT_SCHEMA` (schema.ts).
 */

/** Bumped on any incompatible change of the event shape. */
export const EVENT_SCHEMA_VERSION = 1;

export const EVENT_TYPES = [
  'login.succeeded',
  'login.failed',
  'lockout.engaged',
  'lockout.released',
  'token.issued',
  'token.refreshed',
  'token.revoked',
  'token.reuse_detected',
  'user.changed',
  'user.migrated',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** Where an event comes from: a login dialect, the CLI or the ops dashboard. */
export const DIALECTS = ['moh', 'nehr', 'simplejwt', 'peb', 'oauth', 'cli', 'ops'] as const;

export type Dialect = (typeof DIALECTS)[number];
