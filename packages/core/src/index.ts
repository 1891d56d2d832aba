export * from './body.ts';
export * from './bounded-map.ts';
export * from './client-address.ts';
export * from './client-check-cache.ts';
export * from './dialects/dialect.ts';
export { MOH_CODES, MOH_WHEN, type MohFailure, moh } from './dialects/moh.ts';
export { NEHR_ANSWERS, NEHR_FIELD_MESSAGES, NEHR_FIELD_WHEN, NEHR_MESSAGES, nehr } from './dialects/nehr.ts';
export { createPeb, PEB_ERRORS, type PebError, type PebOptions, pebTimestamp } from './dialects/peb.ts';
export {
  DRF_FIELD_MESSAGES,
  DRF_HEADERS,
  DRF_NULL_CHARACTER_MESSAGE,
  type DrfFieldInfo,
  drfProhibitedMessages,
  SIMPLEJWT_CLAIM_MESSAGES,
  SIMPLEJWT_MESSAGES,
  SIMPLEJWT_VIEWS,
  SIMPLEJWT_WHEN,
  type SimpleJwtView,
  simpleJwtMetadata,
  simplejwt,
  simplejwtSliding,
  throttledDetail,
} from './dialects/simplejwt.ts';
export * from './errors.ts';
export * from './fields.ts';
export * from './jwt.ts';
export * from './key-wrap.ts';
export * from './lifecycle.ts';
export * from './login.ts';
export * from './oauth.ts';
export * from './outcome.ts';
export * from './routes.ts';
export * from './token-cache.ts';
export * from './tokens.ts';
export * from './turn-queue.ts';
export type * from './types.ts';
export * from './upstream.ts';
export * from './user-cache.ts';
export * from './user-fields.ts';
