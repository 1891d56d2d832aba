/** The `nehr` routes (document 001): the ministry envelope, real HTTP statuses on failure. */
import { NEHR_ANSWERS, NEHR_FIELD_MESSAGES, NEHR_FIELD_WHEN, NEHR_MESSAGES } from '@tessera/core';
import * as build from './build.ts';
import type { JsonSchema, PathItemObject, ResponseObject } from './types.ts';

type NehrMessage = keyof typeof NEHR_MESSAGES;

function nehrFailure(status: number, messages: readonly string[]): JsonSchema {
  return build.narrowed('NehrError', { properties: { code: build.constant(status), message: { enum: messages } } });
}

/** The answer of one message: its status, and when it is given as the description. */
function nehrAnswer(which: NehrMessage, extra: build.HeaderMap = {}): ResponseObject {
  const { status, when } = NEHR_ANSWERS[which];
  return build.json(when, nehrFailure(status, [NEHR_MESSAGES[which]]), extra);
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
    '400': build.json(
      `Tessera's messages, in document 001's \`<Reason Phrase>: <explanation>\` form: ${BAD_REQUEST_WHEN} (all 400: document 001 has no 413/415).`,
      nehrFailure(400, nehrBadRequest(fields)),
    ),
    '401': nehrAnswer(login ? 'unauthorized' : 'invalidToken'),
  };
  if (login) {
    failures['429'] = build.json(
      `Tessera's messages: ${NEHR_ANSWERS.locked.when}, or ${NEHR_ANSWERS.throttled.when}. \`Retry-After\` says when to try again.`,
      nehrFailure(429, [NEHR_MESSAGES.locked, NEHR_MESSAGES.throttled]),
      { 'Retry-After': build.header('RetryAfter') },
    );
  }
  return {
    summary: login ? 'nehr login (document 001)' : 'nehr refresh (Tessera)',
    post: build.op(
      id,
      'nehr',
      login ? 'Trades username and password for a UUID v4 access + refresh pair' : 'Trades a refresh token for a new pair',
      {
        '200': build.json('The v2 envelope of document 001, code 0.', build.schema('MinistryEnvelope')),
        ...failures,
        '500': nehrAnswer('internalError'),
        '503': nehrAnswer('unavailable'),
      },
      {
        requestBody: build.formBody(
          login ? 'NehrLogin' : 'NehrRefresh',
          login
            ? 'Document 001: `username` and `password`, strings, taken as sent.'
            : 'Tessera: `refresh_token` from an earlier `moh` or `nehr` answer. Refresh tokens are single-use.',
          build.schema(login ? 'MinistryLoginRequest' : 'MinistryRefreshRequest'),
        ),
        ...(login ? {} : { description: "Tessera's route (document 001 names none); same rules as the moh refresh." }),
      },
    ),
    ...build.otherMethods(id, 'nehr', {
      '405': build.sharedResponse('NehrWrongMethod', nehrAnswer('methodNotAllowed', { Allow: build.header('AllowPost') })),
    }),
  };
}
