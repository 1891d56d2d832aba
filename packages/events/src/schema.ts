import { MAX_EVENT_IDENTIFIER, MAX_EVENT_USER_AGENT } from './event.ts';
import { EVENT_SCHEMA_VERSION, EVENT_TYPES } from './types.ts';

/** JSON Schema (2020-12) of an audit event, published for consumers in other languages. */
export const AUDIT_EVENT_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: `https://tessera.dev/schemas/audit-event.v${EVENT_SCHEMA_VERSION}.json`,
  title: 'Tessera audit event',
  type: 'object',
  additionalProperties: false,
  required: ['v', 'id', 'type', 'at'],
  properties: {
    v: { const: EVENT_SCHEMA_VERSION },
    id: { type: 'string', pattern: '^[0-9A-HJKMNP-TV-Z]{26}$', description: 'ULID' },
    type: { enum: [...EVENT_TYPES] },
    at: { type: 'string', format: 'date-time' },
    dialect: { enum: ['moh', 'nehr', 'simplejwt', 'peb', 'oauth', 'cli', 'ops'] },
    identifier: { type: 'string', maxLength: MAX_EVENT_IDENTIFIER },
    userId: { type: 'integer', minimum: 1 },
    ip: { type: 'string', maxLength: 64 },
    userAgent: { type: 'string', maxLength: MAX_EVENT_USER_AGENT },
    outcome: { type: 'string', maxLength: 64 },
    reason: { type: 'string', maxLength: 64 },
    family: { type: 'string', maxLength: 64 },
    count: { type: 'integer', minimum: 0 },
    until: { type: 'integer', minimum: 0, description: 'lockout end, ms since epoch' },
  },
} as const;
