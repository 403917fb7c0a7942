/**
 * The Cosmos DB connector's error edge: SDK and Entra ID failures become TributaryErrors
 * whose messages name the account, the database and container, the status and the way
 * out — and never a secret. The original error is not attached as `cause`: SDK errors carry
 * request diagnostics and headers (an Entra ID token among them) that the logger would
 * print.
 */
import { TributaryError, redactUrl } from "../../base/index.js";

/** Where a failure happened, for its message. */
export interface Where {
  side: "source" | "sink";
  endpoint: string;
  database: string;
  container?: string;
  /** secrets of the spec (key, client secret): replaced by *** wherever they would appear */
  secrets: readonly string[];
}

/** The secrets of a spec's `auth` (key, client secret), for scrubbing messages. */
export function secretsOf(auth: { key?: string | undefined; entra?: { clientSecret?: string | undefined } | undefined }): string[] {
  return [auth.key, auth.entra?.clientSecret].filter((s): s is string => typeof s === "string" && s.length > 0);
}

/** A Cosmos DB (or HTTP) status and substatus of a failed operation, if it has them. */
export function statusOf(err: unknown): { status?: number; substatus?: number; retryAfterMs?: number } {
  const e = err as { code?: unknown; statusCode?: unknown; substatus?: unknown; retryAfterInMs?: unknown; headers?: Record<string, unknown> } | null;
  const status = typeof e?.code === "number" ? e.code : typeof e?.statusCode === "number" ? e.statusCode : undefined;
  const sub = e?.substatus ?? e?.headers?.["x-ms-substatus"];
  const after = e?.retryAfterInMs ?? e?.headers?.["x-ms-retry-after-ms"];
  const out: { status?: number; substatus?: number; retryAfterMs?: number } = {};
  if (status !== undefined) out.status = status;
  if (sub !== undefined && Number.isFinite(Number(sub))) out.substatus = Number(sub);
  if (after !== undefined && Number.isFinite(Number(after)) && Number(after) > 0) out.retryAfterMs = Number(after);
  return out;
}

/** Statuses worth retrying after a delay: throttled, timeout, retry-with, gone, busy, unavailable. */
export function isTransientStatus(status: number | undefined): boolean {
  return status === 408 || status === 410 || status === 429 || status === 449 || status === 500 || status === 503;
}

const IDENTITY_ERRORS = new Set(["AuthenticationError", "AuthenticationRequiredError", "CredentialUnavailableError", "AggregateAuthenticationError"]);

/** The first meaningful line of an SDK or Entra ID message, shortened, with secrets replaced. */
export function cleanMessage(text: string, secrets: readonly string[]): string {
  let t = text;
  for (const s of secrets) if (s.length >= 4) t = t.split(s).join("***");
  // Entra ID: "invalid_client: Error(s): 7000215 - Timestamp: … - Description: AADSTS7000215: …\r\nTrace ID: …"
  const aadsts = /(AADSTS\d+:[^\r\n]*)/.exec(t);
  if (aadsts) t = aadsts[1]!;
  t = t.split(/\r?\n/)[0]!.replace(/\s+/g, " ").trim();
  return t.length > 400 ? `${t.slice(0, 397)}...` : t;
}

/**
 * Translates anything the SDK or a credential threw into a TributaryError.
 * @param doing what was being done, e.g. "reading the change feed"
 */
export function cosmosError(err: unknown, where: Where, doing: string): TributaryError {
  if (err instanceof TributaryError) return err;
  const side = where.side === "source" ? "SOURCE" : "SINK";
  const place = `Cosmos DB ${where.side} ${redactUrl(where.endpoint)} ${where.container !== undefined ? `container ${where.database}/${where.container}` : `database ${where.database}`}`;
  const e = err as { name?: unknown; message?: unknown; code?: unknown };
  // no trailing period: most messages below go on with a sentence of their own
  const text = cleanMessage(String(e?.message ?? err), where.secrets).replace(/\.+$/, "");
  const name = typeof e?.name === "string" ? e.name : "";
  const fail = (code: "INVALID" | "UNAVAILABLE", message: string) => new TributaryError(`${side}_${code}`, `${place}: ${doing}: ${message}`);
  if (IDENTITY_ERRORS.has(name)) {
    return fail("INVALID", `Microsoft Entra ID sign-in failed (${name}): ${text}. Check auth.entra (tenant, client id, secret, authority host)`);
  }
  const { status, substatus } = statusOf(err);
  const sub = substatus !== undefined && substatus !== 0 ? `/${substatus}` : "";
  if (status === 401) {
    return fail("INVALID", `the account refused the sign-in (401): ${text}. Check auth.key (the account's primary or secondary key) or, for Entra ID, that the token is for this account`);
  }
  if (status === 403 && substatus === 5301) {
    const role = where.side === "source" ? "Cosmos DB Built-in Data Reader" : "Cosmos DB Built-in Data Contributor";
    return fail("INVALID", `the identity has no data-plane role on the account (403/5301): assign it the "${role}" role (docs/operations.md). ${text}`);
  }
  if (status === 403) return fail("INVALID", `forbidden (403${sub}): ${text}`);
  if (status === 404) return fail("INVALID", `not found (404${sub}): ${text}`);
  if (status !== undefined && isTransientStatus(status)) return fail("UNAVAILABLE", `the service answered ${status}${sub}: ${text}`);
  if (status !== undefined && status >= 400 && status < 500) return fail("INVALID", `the service refused the request (${status}${sub}): ${text}`);
  if (status !== undefined) return fail("UNAVAILABLE", `the service answered ${status}${sub}: ${text}`);
  if (typeof e?.code === "string" && /^E[A-Z_]+$/.test(e.code)) return fail("UNAVAILABLE", `cannot reach the account (${e.code}): ${text}`);
  return fail("UNAVAILABLE", text);
}
