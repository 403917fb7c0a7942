/**
 * Fault injection and the request log of the Cosmos DB fake. Faults are answered after
 * authentication (the service throttles authenticated callers) and can be narrowed to some
 * requests with a matcher, so a test can throttle the change feed without touching the
 * SDK's metadata reads.
 */
import { CosmosError } from "./wire.js";

/** One request as logged by the fake (authorization header left out). */
export interface LoggedRequest {
  seq: number;
  method: string;
  /** URL path, still encoded. */
  path: string;
  /** Resource type the request is signed for (`docs`, `colls`, `pkranges`, "" for the account). */
  resourceType: string;
  auth: "master" | "aad" | "none";
  /** Request headers, lowercase names, without `authorization`. */
  headers: Record<string, string>;
  /** Filled in when the reply is written. */
  status?: number;
  substatus?: number;
  /** The reply's etag (the change feed's continuation). */
  etag?: string;
  /** True when the reply came from an injected fault. */
  injected?: boolean;
}

/** Selects the requests a fault applies to. */
export type RequestMatcher = (r: LoggedRequest) => boolean;

/** Ready-made matchers. */
export const matchers = {
  /** Change feed reads (`A-IM` present). */
  changeFeed: ((r) => r.headers["a-im"] !== undefined) as RequestMatcher,
  /** Batch requests (bulk and transactional batch). */
  batch: ((r) => r.headers["x-ms-cosmos-is-batch-request"] !== undefined) as RequestMatcher,
  /** Any request on documents (CRUD, batch, change feed). */
  docs: ((r) => r.resourceType === "docs") as RequestMatcher,
  /** Requests with this method. */
  method: (m: string): RequestMatcher => (r) => r.method === m.toUpperCase(),
} as const;

interface Rule {
  remaining: number;
  status: number;
  substatus?: number;
  retryAfterMs?: number;
  match?: RequestMatcher;
}

interface Storm {
  every: number;
  until: number;
  retryAfterMs: number;
  match?: RequestMatcher;
  seen: number;
}

/** Options of a 429 storm. */
export interface StormOptions {
  /** Every `every`-th matching request is throttled. */
  every: number;
  /** How long the storm lasts. */
  durationMs: number;
  /** @default 10 */
  retryAfterMs?: number;
  match?: RequestMatcher;
}

/** Pending faults of one fake; rules are consumed first-in first-out. */
export class Faults {
  private rules: Rule[] = [];
  private storm: Storm | undefined;
  /** How many faults were injected so far. */
  injected = 0;

  /** The next `n` matching requests get 429 with `x-ms-retry-after-ms: retryAfterMs`. */
  throttle(n: number, retryAfterMs = 10, match?: RequestMatcher): void {
    this.rules.push({ remaining: n, status: 429, substatus: 3200, retryAfterMs, ...(match ? { match } : {}) });
  }

  /** The next `n` matching requests fail with `status` (and `x-ms-substatus` when given). */
  failNext(n: number, status: number, substatus?: number, match?: RequestMatcher): void {
    this.rules.push({ remaining: n, status, ...(substatus !== undefined ? { substatus } : {}), ...(match ? { match } : {}) });
  }

  /** Throttles every k-th matching request until `durationMs` has passed. */
  startStorm(opts: StormOptions): void {
    this.storm = {
      every: opts.every,
      until: Date.now() + opts.durationMs,
      retryAfterMs: opts.retryAfterMs ?? 10,
      seen: 0,
      ...(opts.match ? { match: opts.match } : {}),
    };
  }

  /** Ends a storm early. */
  stopStorm(): void {
    this.storm = undefined;
  }

  /** Drops every pending fault. */
  clear(): void {
    this.rules = [];
    this.storm = undefined;
  }

  /** Rules not yet used up (for tests that assert a fault was consumed). */
  get pending(): number {
    return this.rules.reduce((n, r) => n + r.remaining, 0);
  }

  /** The fault to answer `r` with, if any (consumes it). */
  take(r: LoggedRequest): CosmosError | undefined {
    const rule = this.rules.find((x) => x.remaining > 0 && (!x.match || x.match(r)));
    if (rule) {
      rule.remaining--;
      this.rules = this.rules.filter((x) => x.remaining > 0);
      this.injected++;
      return faultError(rule.status, rule.substatus, rule.retryAfterMs);
    }
    const s = this.storm;
    if (s && Date.now() >= s.until) this.storm = undefined;
    else if (s && (!s.match || s.match(r)) && ++s.seen % s.every === 0) {
      this.injected++;
      return faultError(429, 3200, s.retryAfterMs);
    }
    return undefined;
  }
}

const CODES: Record<number, string> = {
  400: "BadRequest", 403: "Forbidden", 404: "NotFound", 408: "RequestTimeout", 409: "Conflict", 410: "Gone",
  412: "PreconditionFailed", 429: "TooManyRequests", 449: "RetryWith", 500: "InternalServerError", 503: "ServiceUnavailable",
};

function faultError(status: number, substatus: number | undefined, retryAfterMs: number | undefined): CosmosError {
  const headers: Record<string, string> = retryAfterMs !== undefined ? { "x-ms-retry-after-ms": String(retryAfterMs) } : {};
  const message = status === 429
    ? "Message: {\"Errors\":[\"Request rate is large. More Request Units may be needed, so no changes were made. Please retry this request later.\"]}"
    : `Injected fault ${status}${substatus !== undefined ? `/${substatus}` : ""} (fake cosmos).`;
  return new CosmosError(status, CODES[status] ?? "Error", message, substatus, headers);
}
