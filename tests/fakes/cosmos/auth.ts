/**
 * Request authentication of the Cosmos DB fake, as the service does it: master-key HMAC
 * signatures recomputed from verb, resource type, resource link and x-ms-date, and Entra ID
 * (`type=aad`) bearer tokens checked for exp/nbf/audience and an optional principal list
 * (the fake's stand-in for data-plane RBAC). JWT signatures are NOT verified.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { decodeJwt, type JwtClaims } from "./jwt.js";
import { CosmosError, errors } from "./wire.js";

/** Entra ID checks of the gateway. */
export interface EntraCheckOptions {
  /** Accepted `aud` values besides the endpoint origin and https://cosmos.azure.com. */
  extraAudiences?: string[];
  /**
   * Principals (`oid` or `appid`) holding a data-plane role; others get 403 substatus 5301.
   * @default every principal is allowed
   */
  allowedPrincipals?: string[];
  /** Clock skew tolerated on exp/nbf, in seconds. @default 0 */
  clockSkewSec?: number;
}

/** What the gateway needs to authenticate a request. */
export interface AuthConfig {
  /** Base64 master key; undefined = master-key requests are refused. */
  masterKey?: string;
  /** Refuse master keys like an account with `disableLocalAuth` (403). @default false */
  disableLocalAuth?: boolean;
  /** The endpoint origin, e.g. https://127.0.0.1:1234 (an accepted audience). */
  origin: string;
  entra: EntraCheckOptions;
}

/** Who a request was authenticated as. */
export type AuthResult = { type: "master" } | { type: "aad"; token: string; claims: JwtClaims };

/** Resource type and link a request is signed for: `/dbs/d/colls/c/docs` → (docs, dbs/d/colls/c). */
export function resourceOf(segments: string[]): { type: string; link: string } {
  if (segments.length === 0) return { type: "", link: "" };
  if (segments.length % 2 === 1) {
    return { type: segments[segments.length - 1] ?? "", link: segments.slice(0, -1).join("/") };
  }
  return { type: segments[segments.length - 2] ?? "", link: segments.join("/") };
}

/** Authenticates one request; throws the CosmosError the service would answer with. */
export function authenticate(
  method: string,
  segments: string[],
  headers: Record<string, string | undefined>,
  config: AuthConfig,
  nowMs: number = Date.now(),
): AuthResult {
  const raw = headers["authorization"];
  if (!raw) throw errors.unauthorized("Required Header authorization is missing. Ensure a valid Authorization token is passed.");
  const fields = parseAuthorization(raw);
  const sig = fields.get("sig") ?? "";
  if (fields.get("type") === "master") {
    checkMaster(method, segments, headers, config, sig, nowMs);
    return { type: "master" };
  }
  if (fields.get("type") === "aad") return { type: "aad", token: sig, claims: checkAad(sig, config, nowMs) };
  throw errors.unauthorized(`The authorization token type '${fields.get("type") ?? ""}' is not supported by the fake.`);
}

function parseAuthorization(raw: string): Map<string, string> {
  let text = raw;
  try {
    text = decodeURIComponent(raw);
  } catch {
    // Left as is: a malformed header then fails the signature check like on the service.
  }
  const out = new Map<string, string>();
  for (const part of text.split("&")) {
    const eq = part.indexOf("=");
    if (eq > 0) out.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return out;
}

function checkMaster(
  method: string,
  segments: string[],
  headers: Record<string, string | undefined>,
  config: AuthConfig,
  sig: string,
  nowMs: number,
): void {
  if (config.disableLocalAuth || config.masterKey === undefined) {
    throw errors.forbidden("Local Authorization is disabled. Use an AAD token to authorize all requests.");
  }
  const date = headers["x-ms-date"] ?? headers["date"];
  if (!date) throw errors.unauthorized("The request does not carry an x-ms-date header.");
  const skewMs = Math.abs(Date.parse(date) - nowMs);
  if (!(skewMs <= 15 * 60_000)) {
    throw errors.forbidden(`The authorization token is not valid at the current time. Request date: ${date}.`);
  }
  const { type, link } = resourceOf(segments);
  const payload = `${method.toLowerCase()}\n${type.toLowerCase()}\n${link}\n${date.toLowerCase()}\n\n`;
  const expected = createHmac("sha256", Buffer.from(config.masterKey, "base64")).update(payload).digest();
  const given = Buffer.from(sig, "base64");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw errors.unauthorized(
      "The input authorization token can't serve the request. The wrong key is being used or the expected payload " +
        `is not built as per the protocol. Server used the following payload to sign: '${payload.replace(/\n/g, "\\n")}'`,
    );
  }
}

function checkAad(token: string, config: AuthConfig, nowMs: number): JwtClaims {
  const claims = decodeJwt(token);
  if (!claims) throw errors.unauthorized("Failed to validate AAD token: the token is not a well-formed JWT.");
  const skew = config.entra.clockSkewSec ?? 0;
  const now = nowMs / 1000;
  if (claims.exp + skew <= now) {
    throw errors.unauthorized(`Failed to validate AAD token: the token has expired (exp ${claims.exp}, now ${Math.floor(now)}).`);
  }
  if (typeof claims.nbf === "number" && claims.nbf - skew > now) {
    throw errors.unauthorized(`Failed to validate AAD token: the token is not yet valid (nbf ${claims.nbf}).`);
  }
  const audiences = new Set([config.origin, `${config.origin}/`, "https://cosmos.azure.com", ...(config.entra.extraAudiences ?? [])]);
  if (!audiences.has(claims.aud)) {
    throw errors.unauthorized(`Failed to validate AAD token: audience '${claims.aud}' is not accepted by this account.`);
  }
  const allowed = config.entra.allowedPrincipals;
  if (allowed && !allowed.includes(claims.oid) && !allowed.includes(claims.appid)) {
    throw new CosmosError(403, "Forbidden",
      `Request blocked by Auth fake: principal [${claims.oid}] does not have required RBAC permissions to perform ` +
        "this action. Learn more: https://aka.ms/cosmos-native-rbac.", 5301);
  }
  return claims;
}
