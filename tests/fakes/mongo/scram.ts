/**
 * SCRAM-SHA-256 (RFC 5802 / 7677) server side for the fake MongoDB server: saslStart and
 * saslContinue, also when the first step arrives as `speculativeAuthenticate` inside the
 * handshake. A wrong password or unknown user fails with mongod's AuthenticationFailed (18).
 * Passwords are prepared with Unicode NFKC, which equals SASLprep for ordinary passwords.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";
import { Binary } from "mongodb";
import { bsonType, isPlainDoc, type Doc } from "./bson-values.js";
import { fail } from "./errors.js";

/** A user the fake accepts. */
export interface FakeUser {
  user: string;
  password: string;
  /** Authentication database. @default "admin" */
  db?: string;
}

interface Credentials {
  salt: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

/** An authentication conversation on one connection. */
export interface ScramConversation {
  readonly id: number;
  readonly user: string;
  readonly db: string;
  readonly clientFirstBare: string;
  readonly serverFirst: string;
  readonly nonce: string;
  finished: boolean;
}

const ITERATIONS = 15_000;
const hmac = (key: Buffer, text: string): Buffer => createHmac("sha256", key).update(text).digest();

function payloadText(v: unknown): string {
  if (bsonType(v) === "Binary") {
    const b = v as Binary;
    return Buffer.from(b.buffer.subarray(0, b.position)).toString("utf8");
  }
  if (v instanceof Uint8Array) return Buffer.from(v).toString("utf8");
  throw fail("BadValue", "SASL payload must be binary data");
}

function attributes(msg: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of msg.split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) out.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return out;
}

function authFailed(): Error {
  return fail("AuthenticationFailed", "Authentication failed.");
}

/** The users of one fake server and their SCRAM conversations. */
export class ScramServer {
  private readonly creds = new Map<string, Credentials>();
  private nextConversation = 1;

  constructor(users: readonly FakeUser[]) {
    for (const u of users) {
      const salt = randomBytes(16);
      const salted = pbkdf2Sync(u.password.normalize("NFKC"), salt, ITERATIONS, 32, "sha256");
      const clientKey = hmac(salted, "Client Key");
      this.creds.set(`${u.db ?? "admin"}.${u.user}`, {
        salt,
        storedKey: createHash("sha256").update(clientKey).digest(),
        serverKey: hmac(salted, "Server Key"),
      });
    }
  }

  /** True if `db.user` exists (hello's saslSupportedMechs answer). */
  hasUser(dbDotUser: string): boolean {
    return this.creds.has(dbDotUser);
  }

  /** saslStart: checks the mechanism and user, returns the server-first reply. */
  start(db: string, cmd: Doc): { conversation: ScramConversation; reply: Doc } {
    if (cmd.mechanism !== "SCRAM-SHA-256") {
      throw fail("BadValue", `Received authentication for mechanism ${String(cmd.mechanism)} which is not enabled`);
    }
    const clientFirst = payloadText(cmd.payload);
    if (!clientFirst.startsWith("n,,")) throw authFailed();
    const clientFirstBare = clientFirst.slice(3);
    const attrs = attributes(clientFirstBare);
    const user = (attrs.get("n") ?? "").replace(/=2C/g, ",").replace(/=3D/g, "=");
    const clientNonce = attrs.get("r");
    const creds = this.creds.get(`${db}.${user}`);
    if (!creds || !clientNonce) throw authFailed();
    const nonce = clientNonce + randomBytes(18).toString("base64");
    const serverFirst = `r=${nonce},s=${creds.salt.toString("base64")},i=${ITERATIONS}`;
    const conversation: ScramConversation = { id: this.nextConversation++, user, db, clientFirstBare, serverFirst, nonce, finished: false };
    return { conversation, reply: { conversationId: conversation.id, done: false, payload: new Binary(Buffer.from(serverFirst)), ok: 1 } };
  }

  /**
   * saslContinue: verifies the client proof and returns the server signature (done at once when
   * the client asked for skipEmptyExchange), or completes an empty final exchange.
   */
  continue(conv: ScramConversation | undefined, cmd: Doc, skipEmptyExchange: boolean): { reply: Doc; authenticated: boolean } {
    if (!conv) throw fail("BadValue", "No SASL session state found");
    if (conv.finished) return { reply: { conversationId: conv.id, done: true, payload: new Binary(Buffer.alloc(0)), ok: 1 }, authenticated: true };
    const creds = this.creds.get(`${conv.db}.${conv.user}`);
    const clientFinal = payloadText(cmd.payload);
    const attrs = attributes(clientFinal);
    const proof = Buffer.from(attrs.get("p") ?? "", "base64");
    const withoutProof = clientFinal.slice(0, clientFinal.lastIndexOf(",p="));
    if (!creds || attrs.get("r") !== conv.nonce || attrs.get("c") !== "biws" || proof.length !== 32) throw authFailed();
    const authMessage = `${conv.clientFirstBare},${conv.serverFirst},${withoutProof}`;
    const signature = hmac(creds.storedKey, authMessage);
    const clientKey = Buffer.from(proof.map((b, i) => b ^ (signature[i] ?? 0)));
    if (!timingSafeEqual(createHash("sha256").update(clientKey).digest(), creds.storedKey)) throw authFailed();
    conv.finished = true;
    const serverFinal = `v=${hmac(creds.serverKey, authMessage).toString("base64")}`;
    return { reply: { conversationId: conv.id, done: skipEmptyExchange, payload: new Binary(Buffer.from(serverFinal)), ok: 1 }, authenticated: true };
  }
}

/** True if a saslStart asked to skip the empty final exchange. */
export function wantsSkipEmptyExchange(cmd: Doc): boolean {
  return isPlainDoc(cmd.options) && cmd.options.skipEmptyExchange === true;
}
