import type { Static } from 'typebox';
import { DIALECTS, EVENT_SCHEMA_VERSION, EVENT_TYPES } from './types.ts';

/** An event's identifier: a login identifier (at most 254 characters) behind its kind, `u:` or `e:`. */
export const MAX_EVENT_IDENTIFIER = 256;
/** A user agent is cut to this many characters. */
export const MAX_EVENT_USER_AGENT = 512;

/**
 * JSON Schema (2020-12) of an audit event, published for consumers in other languages. It is the
 * one description of an event: the `AuditEvent` type is inferred from it (TypeBox's `Static`),
 * and `consumeAudit` checks what it reads against it (`auditEventCheck`).
 */
export const AUDIT_EVENT_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: `https://tessera.dev/schemas/audit-event.v${EVENT_SCHEMA_VERSION}.json`,
  title: 'Tessera audit event',
  type: 'object',
  additionalProperties: false,
  required: ['v', 'id', 'type', 'at'],
  properties: {
    v: { const: EVENT_SCHEMA_VERSION, description: 'schema version, bumped on any incompatible change' },
    id: { type: 'string', pattern: '^[0-9A-HJKMNP-TV-Z]{26}$', description: 'ULID' },
    type: { enum: EVENT_TYPES },
    at: { type: 'string', format: 'date-time', description: 'ISO 8601 UTC time of the change' },
    dialect: { enum: DIALECTS },
    identifier: {
      type: 'string',
      maxLength: MAX_EVENT_IDENTIFIER,
      description:
        'the identifier as submitted and normalised (u:<username>, e:<case-folded email>); in lockout events the lock: a:<user id> for an account, else that of the identifier',
    },
    userId: { type: 'integer', minimum: 1 },
    ip: { type: 'string', maxLength: 64 },
    userAgent: { type: 'string', maxLength: MAX_EVENT_USER_AGENT },
    outcome: {
      type: 'string',
      maxLength: 64,
      description: 'e.g. success, bad_credentials, locked, throttled, unavailable, revoked, reuse',
    },
    reason: {
      type: 'string',
      maxLength: 64,
      description:
        'why: revocations client, admin, user_disabled, password_changed, reuse, evicted (past TESSERA_MAX_TOKENS_PER_FAMILY or TESSERA_MAX_SESSIONS_PER_USER); lockouts failures, admin',
    },
    family: { type: 'string', maxLength: 64, description: 'login family of the tokens concerned' },
    count: { type: 'integer', minimum: 0, description: 'tokens a revocation took; the number of a lockout; users imported' },
    until: { type: 'integer', minimum: 0, description: 'lockout end, ms since epoch' },
  },
} as const;

/** An audit event (never a password, a token or a secret); consumers deduplicate by its ULID `id`. */
export type AuditEvent = Readonly<Static<typeof AUDIT_EVENT_SCHEMA>>;

/** Why a value is not an audit event (its failed rules), or undefined when it is one. */
export type AuditEventCheck = (value: unknown) => string | undefined;

let compiled: Promise<AuditEventCheck> | undefined;

/**
 * The check of `AUDIT_EVENT_SCHEMA`, compiled by TypeBox on first use. Its import (a fifth of a
 * second) stays off the start of the processes that only write events.
 */
export function auditEventCheck(): Promise<AuditEventCheck> {
  compiled ??= import('typebox/schema').then(({ Compile }) => {
    const validator = Compile(AUDIT_EVENT_SCHEMA);
    return (value) => {
      if (validator.Check(value)) return undefined;
      const rules = new Set(validator.Errors(value)[1].map((e) => `${e.instancePath || '/'} ${e.message}`));
      return [...rules].join('; ').slice(0, 200);
    };
  });
  return compiled;
}
