/**
 * Unsigned-but-well-formed JWTs for the Entra ID fake, and their decoding by the Cosmos DB
 * fake. The signature segment is a fixed marker: nothing here verifies signatures, which is
 * one thing a test against the fakes cannot prove (see README.md).
 */

/** The claims FakeEntra puts in an access token and FakeCosmos checks. */
export interface JwtClaims {
  aud: string;
  iss: string;
  iat: number;
  nbf: number;
  exp: number;
  oid: string;
  tid: string;
  appid: string;
  sub: string;
  /** Unique per token, so two tokens issued in the same second still differ. */
  uti: string;
  [claim: string]: unknown;
}

const b64url = (s: string): string => Buffer.from(s, "utf8").toString("base64url");

/** Encodes `claims` as `header.payload.signature` (RS256 header, fake signature). */
export function encodeJwt(claims: JwtClaims): string {
  const head = b64url(JSON.stringify({ typ: "JWT", alg: "RS256", kid: "fake-entra" }));
  return `${head}.${b64url(JSON.stringify(claims))}.${b64url("not-a-real-signature")}`;
}

/** Decodes a JWT's payload; undefined when it is not three base64url JSON segments. */
export function decodeJwt(token: string): JwtClaims | undefined {
  const parts = token.split(".");
  if (parts.length !== 3 || parts[1] === undefined) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
    if (typeof claims !== "object" || claims === null) return undefined;
    const c = claims as Partial<JwtClaims>;
    if (typeof c.aud !== "string" || typeof c.exp !== "number") return undefined;
    return claims as JwtClaims;
  } catch {
    return undefined;
  }
}
