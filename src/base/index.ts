/** Public surface of the base layer: errors, secret references and redaction, time, logger options. */
export { ErrorCodes, TributaryError, toTributaryError, type ErrorCode } from "./errors.js";
export { redactText, redactUrl } from "./redact.js";
export {
  SecretScrubber,
  checkableText,
  hasReference,
  isWholeReference,
  literalSecrets,
  redactSpec,
  referencePaths,
  referenceProblems,
  referencesIn,
  resolveDeep,
  resolveText,
  substitute,
  type Reference,
  type ResolveContext,
} from "./secrets.js";
export { sleep, backoff, jitter } from "./time.js";
export { loggerOptions } from "./log.js";
export { connectionUrl, duration, tokenName } from "./config-kit.js";
