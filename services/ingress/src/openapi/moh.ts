/** The `moh` routes (document 000): HTTP 200 always, the outcome in the envelope's `code`. */
import { MOH_CODES, MOH_WHEN, type MohFailure } from '@tessera/core';
import * as build from './build.ts';
import type { JsonSchema, PathItemObject } from './types.ts';

/** The `moh` failure envelopes of these codes, one component schema per code (named by its message). */
export function mohFailure(failures: readonly MohFailure[]): JsonSchema {
  const variants = failures.map((which) => {
    const { code, message } = MOH_CODES[which];
    return build.sharedSchema(`Moh${message.replaceAll(' ', '')}`, {
      ...build.narrowed('MinistryError', { properties: { code: build.constant(code), message: build.constant(message) } }),
      title: `code ${code}`,
      description: MOH_WHEN[which],
    });
  });
  return variants.length === 1 ? (variants[0] as JsonSchema) : build.oneOf(...variants);
}

export function mohItem(action: 'login' | 'refresh'): PathItemObject {
  const login = action === 'login';
  const id = login ? 'mohGetUserToken' : 'mohRefreshUserToken';
  const failures: MohFailure[] = login
    ? ['invalidRequest', 'badCredentials', 'locked', 'throttled', 'unavailable', 'internalError']
    : ['invalidRequest', 'unavailable', 'internalError', 'invalidToken'];
  return {
    summary: login ? 'moh login (document 000)' : 'moh refresh (Tessera)',
    description:
      "Shown at its default path. `TESSERA_MOH_BASE` (document 000's `{baseurl}`, default empty) prefixes it, e.g. `/moh/getUserToken`; the default path then answers the JSON 404. HTTP status is always 200 (or 404 as said): the outcome is the envelope's `code`.",
    'x-tessera-prefix-setting': 'TESSERA_MOH_BASE',
    post: build.op(
      id,
      'moh',
      login ? 'Trades username and password for a UUID v4 access + refresh pair' : 'Trades a refresh token for a new pair',
      {
        '200': build.json(
          'Always HTTP 200. Success: the v2 envelope with code 0. Failure: the envelope with `result: null` and the code of the outcome.',
          build.oneOf(build.schema('MinistryEnvelope'), mohFailure(failures)),
        ),
        '404': build.MOVED,
      },
      {
        requestBody: build.formBody(
          login ? 'MohLogin' : 'MohRefresh',
          login
            ? 'Document 000: `username` and `password`, strings, taken as sent (not trimmed; a JSON number is the wrong type).'
            : 'Tessera: `refresh_token`, the refresh token of an earlier answer of `moh` or `nehr`. Refresh tokens are single-use.',
          build.schema(login ? 'MinistryLoginRequest' : 'MinistryRefreshRequest'),
        ),
        ...(login
          ? {}
          : {
              description:
                "Tessera's route (document 000 names none). The refresh token is single-use: trading it marks it used; presenting a used one again (a leaked copy) revokes every token descended from that login and answers code 9.",
            }),
      },
    ),
    ...build.otherMethods(id, 'moh', {
      '200': build.sharedResponse(
        'MohWrongMethod',
        build.json('HTTP 200, code 6, with `Allow: POST`.', mohFailure(['methodNotAllowed']), { Allow: build.header('AllowPost') }),
      ),
      '404': build.MOVED,
    }),
  };
}
