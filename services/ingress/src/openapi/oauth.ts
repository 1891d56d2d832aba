/** The `/oauth` routes: RFC 7662 introspection and RFC 7009 revocation. */
import { OAUTH_ERRORS } from '@tessera/core';
import * as build from './build.ts';
import type { JsonSchema, PathItemObject } from './types.ts';

/** The body of these errors, which share one `error` code. */
function oauthFailure(...which: [keyof typeof OAUTH_ERRORS, ...(keyof typeof OAUTH_ERRORS)[]]): JsonSchema {
  const descriptions = which.map((w) => OAUTH_ERRORS[w].description);
  return build.narrowed('OAuthError', {
    properties: { error: build.constant(OAUTH_ERRORS[which[0]].error), error_description: { enum: descriptions } },
  });
}

export function oauthItem(kind: 'introspect' | 'revoke'): PathItemObject {
  const introspect = kind === 'introspect';
  const id = introspect ? 'oauthIntrospect' : 'oauthRevoke';
  return {
    summary: introspect ? 'RFC 7662 token introspection' : 'RFC 7009 token revocation',
    post: build.op(
      id,
      'oauth',
      introspect ? 'What Tessera knows of a token of any dialect' : 'Revokes a token of any dialect',
      {
        '200': introspect
          ? build.json(
              'The claims of a live token, or exactly `{"active":false}` for anything else (unknown, expired, revoked, blacklisted, badly signed).',
              build.oneOf(build.schema('IntrospectionActive'), build.schema('IntrospectionInactive')),
            )
          : {
              description:
                'RFC 7009: 200 with an empty body, whether or not the token was valid. A refresh token takes its whole login family with it (a simplejwt refresh token is also blacklisted); an access token goes alone. The answer carries `Content-Type: application/json` although the body is empty.',
              headers: build.TOKEN_HEADERS,
            },
        '400': build.sharedResponse(
          'OAuthInvalidRequest',
          build.json(
            'RFC 6749 `invalid_request`: a body that cannot be read (unsupported media type, malformed), a body over the limit, or no `token`.',
            oauthFailure('unreadable', 'tooLarge', 'noToken'),
          ),
        ),
        '401': build.sharedResponse(
          'OAuthInvalidClient',
          build.json(
            '`invalid_client`: no client credentials, an Authorization header that is not well-formed Basic (body credentials are then ignored), or credentials that do not authenticate.',
            oauthFailure('invalidClient'),
            { 'WWW-Authenticate': build.header('WwwAuthenticateBasic') },
          ),
        ),
        '500': build.sharedResponse('OAuthServerError', build.json('`server_error`: an unexpected error.', oauthFailure('serverError'))),
        '503': build.sharedResponse(
          'OAuthUnavailable',
          build.json('`temporarily_unavailable`: Redis does not answer.', oauthFailure('unavailable')),
        ),
      },
      {
        description:
          'Callers are clients registered with `tessera clients add`, authenticated with HTTP Basic (`client_id:client_secret`, form-encoded parts, RFC 6749 §2.3.1) or with `client_id` and `client_secret` in the body (only when no Authorization header is sent). Redis keeps SHA-256 of the 256-bit secrets; a verified credential is remembered in process for 5 s.',
        security: [{ clientBasic: [] }, {}],
        requestBody: build.formBody(
          'OAuthToken',
          '`token`, and optionally `token_type_hint` (accepted, not needed) and body client credentials.',
          build.schema('OAuthTokenRequest'),
        ),
      },
    ),
    ...build.otherMethods(id, 'oauth', {
      '405': build.sharedResponse(
        'OAuthWrongMethod',
        build.json('Only POST, with `Allow: POST`.', oauthFailure('methodNotAllowed'), { Allow: build.header('AllowPost') }),
      ),
    }),
  };
}
