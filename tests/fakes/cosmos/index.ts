/**
 * Public surface of the Cosmos DB / Entra ID fakes for tests (see README.md for what they
 * implement and what a test against them cannot prove).
 */
export { makeTestCa, type TestTls } from "./tls.js";
export { FakeCosmos, type FakeCosmosOptions, type AuthStats } from "./server.js";
export { FakeEntra, type FakeEntraOptions, type FakeClient, type IssuedToken } from "./entra.js";
export { matchers, type LoggedRequest, type RequestMatcher, type StormOptions } from "./faults.js";
export type { EntraCheckOptions } from "./auth.js";
export type { PkRange, Doc } from "./store.js";
export { DEFAULT_FEED_PAGE } from "./change-feed.js";
export { MAX_DOC_BYTES } from "./documents.js";
export {
  caAgent,
  trustTestCaPolicy,
  loopbackOnlyPolicy,
  credentialOptions,
  childProcessEnv,
  withEnv,
  type AdditionalPolicy,
} from "./client-options.js";
export { decodeJwt, encodeJwt, type JwtClaims } from "./jwt.js";
