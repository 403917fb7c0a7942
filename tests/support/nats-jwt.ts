/**
 * Operator-mode NATS for tests: signs the operator, account and user JWTs that `nsc` would
 * make (ed25519 nkeys, JWT claims version 2), so a test can run nats/operator.conf and log in
 * with a .creds file without nsc installed.
 */
import { createHash } from "node:crypto";
import { nkeys } from "@nats-io/nats-core";

type KeyPair = ReturnType<typeof nkeys.createUser>;

const text = (v: string | Uint8Array): string => (typeof v === "string" ? v : new TextDecoder().decode(v));
const b64u = (v: string | Uint8Array): string => Buffer.from(v).toString("base64url");
const pub = (k: KeyPair): string => text(k.getPublicKey());

function sign(claims: Record<string, unknown>, issuer: KeyPair): string {
  const header = b64u(JSON.stringify({ typ: "JWT", alg: "ed25519-nkey" }));
  const c: Record<string, unknown> = { ...claims, iat: Math.floor(Date.now() / 1000), iss: pub(issuer) };
  c.jti = createHash("sha256").update(JSON.stringify(c)).digest("base64").replace(/=+$/, "");
  const payload = b64u(JSON.stringify(c));
  return `${header}.${payload}.${b64u(issuer.sign(new TextEncoder().encode(`${header}.${payload}`)))}`;
}

/** What operator mode needs: the resolver config (beside nats/operator.conf) and a user's .creds text. */
export interface OperatorSetup {
  /** operator-resolver.conf: operator, system_account, resolver MEMORY with the account JWTs */
  resolverConf: string;
  /** a .creds file of a user of the JetStream-enabled account */
  creds: string;
}

/** Makes an operator, a system account, an account with JetStream and one user of it. */
export function makeOperator(): OperatorSetup {
  const op = nkeys.createOperator();
  const sys = nkeys.createAccount();
  const acct = nkeys.createAccount();
  const user = nkeys.createUser();
  const base = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 };
  const opJwt = sign({ sub: pub(op), name: "tributary-test-op", nats: { type: "operator", version: 2, system_account: pub(sys) } }, op);
  const sysJwt = sign({ sub: pub(sys), name: "SYS", nats: { type: "account", version: 2, limits: base } }, op);
  const acctJwt = sign({ sub: pub(acct), name: "TRIBUTARY", nats: { type: "account", version: 2, limits: { ...base, mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 } } }, op);
  const userJwt = sign({ sub: pub(user), name: "tributary", nats: { type: "user", version: 2, pub: {}, sub: {}, subs: -1, data: -1, payload: -1 } }, acct);
  return {
    resolverConf: `operator: ${opJwt}\nsystem_account: ${pub(sys)}\nresolver: MEMORY\nresolver_preload: {\n  ${pub(sys)}: ${sysJwt}\n  ${pub(acct)}: ${acctJwt}\n}\n`,
    creds: `-----BEGIN NATS USER JWT-----\n${userJwt}\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n${text(user.getSeed())}\n------END USER NKEY SEED------\n`,
  };
}

/** A user nkey: its seed (the node's file) and public key (the server's config). */
export function makeUserNkey(): { seed: string; publicKey: string } {
  const u = nkeys.createUser();
  return { seed: text(u.getSeed()), publicKey: pub(u) };
}
