/** Public surface of the base layer: errors, secret redaction, time, logger options. */
export { ErrorCodes, TributaryError, toTributaryError, type ErrorCode } from "./errors.js";
export { redactUrl } from "./redact.js";
export { sleep, backoff } from "./time.js";
export { loggerOptions } from "./log.js";
export { duration, tokenName } from "./config-kit.js";
