/**
 * Logger options every Tributary logger is created with: secrets are redacted by field name
 * wherever they appear (up to three levels deep), URLs in `url`/`servers` fields keep
 * everything but their passwords (redactUrl), and errors logged as `{ err }` are written
 * with pino's standard serializer (type, message, stack, cause, code). A node also passes
 * `scrub`, which sees every finished line: the secrets it resolved never reach its output,
 * whatever field or message carries them (docs/adr/0013).
 */
import { stdSerializers, type LoggerOptions } from "pino";
import { redactUrl } from "./redact.js";

/** Fields whose values are secrets, wherever they appear. */
const SECRET_FIELDS = ["password", "pass", "token", "readToken", "secret", "clientSecret", "accountKey", "apiKey"];
/** Fields holding connection URLs: logged with their passwords replaced. */
const URL_FIELDS = ["url", "servers"];

const paths = (field: string) => [field, `*.${field}`, `*.*.${field}`];

/** Replaces a secret with "[Redacted]" and a URL (or list of URLs) with its redacted form. */
function censor(value: unknown, path: string[]): unknown {
  const field = path[path.length - 1] ?? "";
  if (!URL_FIELDS.includes(field)) return "[Redacted]";
  if (typeof value === "string") return redactUrl(value);
  if (Array.isArray(value)) return value.map((v) => (typeof v === "string" ? redactUrl(v) : v));
  return value;
}

/**
 * pino options with the project's redaction and error serializer.
 * @param o.level lowest level written
 * @param o.base fields on every line (e.g. `{ node }`)
 * @param o.scrub rewrites each finished line (e.g. `SecretScrubber.scrub`)
 */
export function loggerOptions(o: { level: string; base?: Record<string, unknown>; scrub?: (line: string) => string }): LoggerOptions {
  const scrub = o.scrub;
  return {
    level: o.level,
    base: o.base,
    redact: { paths: [...SECRET_FIELDS, ...URL_FIELDS].flatMap(paths), censor },
    serializers: { err: stdSerializers.err },
    ...(scrub ? { hooks: { streamWrite: (line: string) => scrub(line) } } : {}),
  };
}
