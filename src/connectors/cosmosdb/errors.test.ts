/** The error edge: each failure becomes a TributaryError naming the place, the status and the way out — and no secret. */
import { describe, expect, it } from "vitest";
import { TributaryError } from "../../base/index.js";
import { cleanMessage, cosmosError, isTransientStatus, statusOf, type Where } from "./errors.js";

const where: Where = { side: "source", endpoint: "https://acct.documents.azure.com:443/", database: "shop", container: "orders", secrets: ["s3cr3t-key==", "client-secret-value"] };
const sdk = (code: number, message: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(message), { code, ...extra });

describe("cosmosError", () => {
  it("401: not retryable, names the account and the field to check", () => {
    const e = cosmosError(sdk(401, "The input authorization token can't serve the request."), where, "reading the change feed");
    expect(e).toBeInstanceOf(TributaryError);
    expect([e.code, e.retryable]).toEqual(["SOURCE_INVALID", false]);
    expect(e.message).toBe("Cosmos DB source https://acct.documents.azure.com:443/ container shop/orders: reading the change feed: the account refused the sign-in (401): The input authorization token can't serve the request. Check auth.key (the account's primary or secondary key) or, for Entra ID, that the token is for this account");
  });

  it("403/5301: the data-plane role to assign, per side", () => {
    expect(cosmosError(sdk(403, "blocked", { substatus: 5301 }), where, "x").message).toMatch(/assign it the "Cosmos DB Built-in Data Reader" role/);
    expect(cosmosError(sdk(403, "blocked", { substatus: 5301 }), { ...where, side: "sink" }, "x")).toMatchObject({ code: "SINK_INVALID" });
    expect(cosmosError(sdk(403, "blocked", { substatus: 5301 }), { ...where, side: "sink" }, "x").message).toMatch(/Data Contributor/);
  });

  it("throttling, timeouts and unavailability are retryable; other 4xx are not", () => {
    for (const s of [408, 410, 429, 449, 503]) expect(cosmosError(sdk(s, "busy"), where, "x")).toMatchObject({ code: "SOURCE_UNAVAILABLE", retryable: true });
    expect(cosmosError(sdk(400, "bad"), where, "x")).toMatchObject({ code: "SOURCE_INVALID", retryable: false });
    expect(cosmosError(sdk(404, "Resource Not Found"), where, "x").message).toMatch(/not found \(404\): Resource Not Found/);
  });

  it("network failures are retryable and say the account cannot be reached", () => {
    const e = cosmosError(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }), where, "reading the container's definition");
    expect([e.code, e.retryable]).toEqual(["SOURCE_UNAVAILABLE", true]);
    expect(e.message).toMatch(/cannot reach the account \(ECONNREFUSED\): connect ECONNREFUSED 127\.0\.0\.1:1$/);
  });

  it("Entra ID failures keep the AADSTS line only, not the trace ids; never a secret", () => {
    const err = Object.assign(new Error("invalid_client: Error(s): 7000215 - Timestamp: 2026 - Description: AADSTS7000215: Invalid client secret provided for client-secret-value.\r\nTrace ID: abc\r\nCorrelation ID: def"), { name: "AuthenticationRequiredError" });
    const e = cosmosError(err, where, "signing in");
    expect(e.code).toBe("SOURCE_INVALID");
    expect(e.message).toBe("Cosmos DB source https://acct.documents.azure.com:443/ container shop/orders: signing in: Microsoft Entra ID sign-in failed (AuthenticationRequiredError): AADSTS7000215: Invalid client secret provided for ***. Check auth.entra (tenant, client id, secret, authority host)");
    expect(cosmosError(new Error("boom s3cr3t-key== boom"), where, "x").message).not.toContain("s3cr3t-key==");
    expect(e.cause).toBeUndefined();
  });

  it("a TributaryError passes through", () => {
    const t = new TributaryError("FENCED", "x");
    expect(cosmosError(t, where, "y")).toBe(t);
  });
});

describe("helpers", () => {
  it("statusOf reads code, substatus and the delay from the error or its headers", () => {
    expect(statusOf(sdk(429, "x", { headers: { "x-ms-retry-after-ms": "50", "x-ms-substatus": "3200" } }))).toEqual({ status: 429, substatus: 3200, retryAfterMs: 50 });
    expect(statusOf(sdk(429, "x", { retryAfterInMs: 7 }))).toEqual({ status: 429, retryAfterMs: 7 });
    expect(statusOf(new Error("plain"))).toEqual({});
  });

  it("transient statuses", () => {
    expect([408, 410, 429, 449, 500, 503].every(isTransientStatus)).toBe(true);
    expect([200, 400, 401, 403, 404, 409, 412, 413, undefined].some(isTransientStatus)).toBe(false);
  });

  it("cleanMessage keeps one line of at most 400 characters", () => {
    expect(cleanMessage("a\nb", [])).toBe("a");
    expect(cleanMessage("x".repeat(500), [])).toHaveLength(400);
  });
});
