import Type, { type Static } from 'typebox';
import Compile, { type Validator } from 'typebox/compile';
import { DIALECTS, EVENT_SCHEMA_VERSION, EVENT_TYPES } from './types.ts';

/** An event's identifier: a login identifier (at most 254 characters) behind its kind, `u:` or `e:`. */
export const MAX_EVENT_IDENTIFIER = 256;
/** A user agent is cut to this many characters. */
export const MAX_EVENT_USER_AGENT = 512;

const short = (description: string) => Type.Optional(Type.String({ maxLength: 64, description }));

/**
 * JSON Schema (2020-12) of an audit event, published for consumers in other languages; the
 * `AuditEvent` type and the check `consumeAudit` applies to what it reads both come from it.
 */
export const AUDIT_EVENT_SCHEMA = Type.Object(
  {
    v: Type.Literal(EVENT_SCHEMA_VERSION, { description: 'schema version (EVENT_SCHEMA_VERSION)' }),
    id: Type.String({ pattern: '^[0-9A-HJKMNP-TV-Z]{26}$', description: 'ULID' }),
    type: Type.Enum(EVENT_TYPES),
    at: Type.String({ format: 'date-time', description: 'ISO 8601 UTC time of the change' }),
    dialect: Type.Optional(Type.Enum(DIALECTS)),
    identifier: Type.Optional(
      Type.String({
        maxLength: MAX_EVENT_IDENTIFIER,
        description:
          'the identifier as submitted and normalised (u:<username>, e:<case-folded email>); in lockout events, the lock: a:<user id> for an account, else that of the identifier',
      }),
    ),
    userId: Type.Optional(Type.Integer({ minimum: 1 })),
    ip: Type.Optional(Type.String({ maxLength: 64 })),
    userAgent: Type.Optional(Type.String({ maxLength: MAX_EVENT_USER_AGENT })),
    outcome: short('e.g. success, bad_credentials, locked, throttled, unavailable, revoked, reuse'),
    reason: short(
      'why: revocations client, admin, user_disabled, password_changed, reuse, evicted (past TESSERA_MAX_TOKENS_PER_FAMILY or TESSERA_MAX_SESSIONS_PER_USER); lockouts failures, admin',
    ),
    family: short('login family of the tokens concerned'),
    count: Type.Optional(
      Type.Integer({ minimum: 0, description: 'how many tokens a revocation took; the number of a lockout, of imported users' }),
    ),
    until: Type.Optional(Type.Integer({ minimum: 0, description: 'lockout end, ms since epoch' })),
  },
  {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: `https://tessera.dev/schemas/audit-event.v${EVENT_SCHEMA_VERSION}.json`,
    title: 'Tessera audit event',
    additionalProperties: false,
  },
);

/** An audit event: ULID `id` (unique, sortable by time; consumers deduplicate by it), type, time… */
export type AuditEvent = Readonly<Static<typeof AUDIT_EVENT_SCHEMA>>;

let validator: Validator | undefined;

/**
 * Why `value` is not an audit event of this schema (its failed rules, at most 200 characters),
 * or undefined when it is one. The validator is compiled on first use.
 */
export function auditEventProblem(value: unknown): string | undefined {
  validator ??= Compile(AUDIT_EVENT_SCHEMA);
  if (validator.Check(value)) return undefined;
  const rules = new Set(validator.Errors(value).map((e) => `${e.instancePath || '/'} ${e.message}`));
  return [...rules].join('; ').slice(0, 200);
}
