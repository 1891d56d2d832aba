/** The `nehr` routes (document 001): the ministry envelope, real HTTP statuses on failure. */
import { NEHR_ANSWERS, NEHR_FIELD_MESSAGES, NEHR_FIELD_WHEN, NEHR_MESSAGES } from '@tessera/core';
import { constant, formBody, type HeaderMap, header, json, narrowed, op, otherMethods, schema, sharedResponse } from './build.ts';
import type { JsonSchema, PathItemObject, ResponseObject } from './types.ts';

type NehrMessage = keyof typeof NEHR_MESSAGES;

function nehrFailure(status: number, messages: readonly string[]): JsonSchema {
  return narrowed('NehrError', { properties: { code: constant(status), message: { enum: messages } } });
}

/** The answer of one message: its status, and when it is given as the description. */
function nehrAnswer(which: NehrMessage, extra: HeaderMap = {}): ResponseObject {
  const { status, when } = NEHR_ANSWERS[which];
  return json(when, nehrFailure(status, [NEHR_MESSAGES[which]]), extra);
}

/** The 400 messages of a route reading these fields (the first problem, in field order, is named). */
function nehrBadRequest(fields: readonly string[]): string[] {
  return [
    ...fields.flatMap((f) => Object.values(NEHR_FIELD_MESSAGES).map((message) => message(f))),
    NEHR_MESSAGES.unparseable,
    NEHR_MESSAGES.unsupportedMediaType,
    NEHR_MESSAGES.tooLarge,
  ];
}

const BAD_REQUEST_WHEN = [
  NEHR_FIELD_WHEN,
  NEHR_ANSWERS.unparseable.when,
  NEHR_ANSWERS.unsupportedMediaType.when,
  `or ${NEHR_ANSWERS.tooLarge.when}`,
].join(', ');

export function nehrItem(action: 'login' | 'refresh'): PathItemObject {
  const login = action === 'login';
  const id = login ? 'nehrGetToken' : 'nehrRefreshToken';
  const fields = login ? ['username', 'password'] : ['refresh_token'];
  const failures: Record<string, ResponseObject> = {
    '400': json(
      `Tessera's messages, in document 001's \`<Reason Phrase>: <explanation>\` form: ${BAD_REQUEST_WHEN} (all 400: document 001 has no 413/415).`,
      nehrFailure(400, nehrBadRequest(fields)),
    ),
    '401': nehrAnswer(login ? 'unauthorized' : 'invalidToken'),
  };
  if (login) {
    failures['429'] = json(
      `Tessera's messages: ${NEHR_ANSWERS.locked.when}, or ${NEHR_ANSWERS.throttled.when}. \`Retry-After\` says when to try again.`,
      nehrFailure(429, [NEHR_MESSAGES.locked, NEHR_MESSAGES.throttled]),
      { 'Retry-After': header('RetryAfter') },
    );
  }
  return {
    summary: login ? 'nehr login (document 001)' : 'nehr refresh (Tessera)',
    post: op(
      id,
      'nehr',
      login ? 'Trades username and password for a UUID v4 access + refresh pair' : 'Trades a refresh token for a new pair',
      {
        '200': json('The v2 envelope of document 001, code 0.', schema('MinistryEnvelope')),
        ...failures,
        '500': nehrAnswer('internalError'),
        '503': nehrAnswer('unavailable'),
      },
      {
        requestBody: formBody(
          login ? 'NehrLogin' : 'NehrRefresh',
          login
            ? 'Document 001: `username` and `password`, strings, taken as sent.'
            : 'Tessera: `refresh_token` from an earlier `moh` or `nehr` answer. Refresh tokens are single-use.',
          schema(login ? 'MinistryLoginRequest' : 'MinistryRefreshRequest'),
        ),
        ...(login ? {} : { description: "Tessera's route (document 001 names none); same rules as the moh refresh." }),
      },
    ),
    ...otherMethods(id, 'nehr', {
      '405': sharedResponse('NehrWrongMethod', nehrAnswer('methodNotAllowed', { Allow: header('AllowPost') })),
    }),
  };
}
