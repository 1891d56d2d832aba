export {
  type BearerOptions,
  type BearerResult,
  bearerAuthenticator,
  type HyperExpressLikeRequest,
  type HyperExpressLikeResponse,
  hyperExpressBearer,
  type NodeLikeRequest,
  type NodeLikeResponse,
  nodeHttpBearer,
} from './bearer.ts';
export { heartbeat, type Watched } from './heartbeat.ts';
export {
  createIntrospector,
  type Introspection,
  IntrospectionError,
  type Introspector,
  type IntrospectorOptions,
  type RevocationSource,
  tokenHash,
} from './introspector.ts';
export {
  createOfflineVerifier,
  type OfflineRefusal,
  type OfflineUnknown,
  type OfflineVerdict,
  type OfflineVerifier,
  type OfflineVerifierOptions,
} from './offline.ts';
