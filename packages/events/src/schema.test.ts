import Ajv2020 from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { lockReleasedEvent, newEvent } from './event.ts';
import { AUDIT_EVENT_SCHEMA, auditEventCheck } from './schema.ts';
import { EVENT_TYPES } from './types.ts';

/** The schema as JSON, annotations (`description`) left out. */
function rules(schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema), (k, v) => (k === 'description' ? undefined : v));
}

describe('AUDIT_EVENT_SCHEMA', () => {
  it('publishes the rules of version 1 (descriptions aside)', () => {
    expect(rules(AUDIT_EVENT_SCHEMA)).toStrictEqual({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $id: 'https://tessera.dev/schemas/audit-event.v1.json',
      title: 'Tessera audit event',
      type: 'object',
      additionalProperties: false,
      required: ['v', 'id', 'type', 'at'],
      properties: {
        v: { const: 1 },
        id: { type: 'string', pattern: '^[0-9A-HJKMNP-TV-Z]{26}$' },
        type: { enum: [...EVENT_TYPES] },
        at: { type: 'string', format: 'date-time' },
        dialect: { enum: ['moh', 'nehr', 'simplejwt', 'peb', 'oauth', 'cli', 'ops'] },
        identifier: { type: 'string', maxLength: 256 },
        userId: { type: 'integer', minimum: 1 },
        ip: { type: 'string', maxLength: 64 },
        userAgent: { type: 'string', maxLength: 512 },
        outcome: { type: 'string', maxLength: 64 },
        reason: { type: 'string', maxLength: 64 },
        family: { type: 'string', maxLength: 64 },
        count: { type: 'integer', minimum: 0 },
        until: { type: 'integer', minimum: 0 },
      },
    });
  });

  it('is read the same by another validator (Ajv, JSON Schema 2020-12) as by consumeAudit’s check', async () => {
    const problem = await auditEventCheck();
    const ajv = new Ajv2020.default({ strict: true, validateFormats: false });
    const check = ajv.compile(JSON.parse(JSON.stringify(AUDIT_EVENT_SCHEMA)));
    const full = newEvent('login.failed', {
      dialect: 'peb',
      identifier: `e:${'x'.repeat(300)}`,
      userId: 1,
      ip: '2001:db8::1',
      userAgent: 'A'.repeat(9000),
      outcome: 'bad_credentials',
      reason: 'failures',
      family: crypto.randomUUID(),
      count: 0,
      until: Date.now(),
    });
    const samples: unknown[] = [
      full,
      JSON.parse(lockReleasedEvent('ops', 'a:7')),
      ...EVENT_TYPES.map((t) => newEvent(t, {})),
      { ...full, userId: 0 },
      { ...full, userId: 1.5 },
      { ...full, count: -1 },
      { ...full, id: full.id.toLowerCase() },
      { ...full, dialect: 'soap' },
      { ...full, ip: 'i'.repeat(65) },
      { ...full, token: 'secret' },
      { ...full, v: '1' },
      Object.fromEntries(Object.entries(full).filter(([k]) => k !== 'at')),
      null,
      'login.failed',
    ];
    for (const [i, s] of samples.entries()) {
      const valid = i < 2 + EVENT_TYPES.length;
      expect(check(s), JSON.stringify(s).slice(0, 80)).toBe(valid);
      expect(problem(s) === undefined, JSON.stringify(s).slice(0, 80)).toBe(valid);
    }
  });
});
