/**
 * Opens the node's NATS connection from config (the one place that dials NATS): servers,
 * and every way to log in — user/password or a token (in the config, or in a server URL as
 * `nats://user:pass@host` / `nats://token@host`), a .creds file (user JWT + nkey seed), an
 * nkey seed file — and TLS (`tls://` URLs or `tls: {ca, cert, key}`, files read by the client).
 * Passwords never reach a message: servers are shown without their credentials.
 */
import { readFileSync } from "node:fs";
import { connect, credsAuthenticator, nkeyAuthenticator, type Authenticator, type NatsConnection } from "@nats-io/transport-node";
import { TributaryError, redactText, redactUrl } from "../base/index.js";

/** TLS towards NATS (file paths). */
export interface NatsTlsOptions {
  ca?: string;
  cert?: string;
  key?: string;
  handshakeFirst?: boolean;
}

/** How to reach NATS (the config's `nats` section). */
export interface NatsOptions {
  servers: readonly string[];
  user?: string;
  pass?: string;
  token?: string;
  /** path of a .creds file */
  creds?: string;
  /** path of a file holding an nkey seed */
  nkey?: string;
  tls?: NatsTlsOptions;
}

/** What the client is given, derived from NatsOptions (exported for the unit test). */
export interface ClientAuth {
  servers: string[];
  user?: string;
  pass?: string;
  token?: string;
  tls?: { caFile?: string; certFile?: string; keyFile?: string; handshakeFirst?: boolean };
  /** files the authenticators read, by kind */
  creds?: string;
  nkey?: string;
}

const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#@]*)@/i;

/**
 * Splits credentials out of the server URLs (the client ignores them) and decides TLS. The
 * config's own user/pass/token win over a URL's; the first URL with credentials gives them.
 */
export function clientAuth(cfg: NatsOptions): ClientAuth {
  let urlUser: string | undefined;
  let urlPass: string | undefined;
  let urlToken: string | undefined;
  const servers = cfg.servers.map((s) => {
    const m = USERINFO.exec(s);
    if (!m) return s;
    if (urlUser === undefined && urlToken === undefined) {
      const info = m[2]!;
      const colon = info.indexOf(":");
      if (colon < 0) urlToken = decodeURIComponent(info);
      else {
        urlUser = decodeURIComponent(info.slice(0, colon));
        urlPass = decodeURIComponent(info.slice(colon + 1));
      }
    }
    return s.replace(USERINFO, "$1");
  });
  const wantsTls = cfg.tls !== undefined || servers.some((s) => /^tls:\/\//i.test(s));
  const out: ClientAuth = { servers };
  const user = cfg.user ?? (cfg.token === undefined ? urlUser : undefined);
  if (user !== undefined) {
    out.user = user;
    out.pass = cfg.user !== undefined ? cfg.pass : urlPass;
  }
  const token = cfg.token ?? (cfg.user === undefined && urlUser === undefined ? urlToken : undefined);
  if (token !== undefined) out.token = token;
  if (wantsTls) {
    const t = cfg.tls ?? {};
    out.tls = {
      ...(t.ca ? { caFile: t.ca } : {}),
      ...(t.cert ? { certFile: t.cert } : {}),
      ...(t.key ? { keyFile: t.key } : {}),
      ...(t.handshakeFirst ? { handshakeFirst: true } : {}),
    };
  }
  if (cfg.creds) out.creds = cfg.creds;
  if (cfg.nkey) out.nkey = cfg.nkey;
  return out;
}

function readSecretFile(path: string, what: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new TributaryError("CONFIG_INVALID", `cannot read the NATS ${what} file ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); check nats.${what === "credentials" ? "creds" : "nkey"}`);
  }
}

/** The authenticators for the files (creds, nkey seed); user/pass/token are passed as options. */
function authenticators(a: ClientAuth): Authenticator[] {
  const out: Authenticator[] = [];
  if (a.creds) out.push(credsAuthenticator(readSecretFile(a.creds, "credentials")));
  if (a.nkey) {
    const seed = new TextDecoder().decode(readSecretFile(a.nkey, "nkey seed")).trim();
    out.push(nkeyAuthenticator(new TextEncoder().encode(seed)));
  }
  return out;
}

/** Connects with unlimited reconnects; fails fast (NATS_UNAVAILABLE naming the servers, without credentials) if the first dial fails. */
export async function connectNats(cfg: NatsOptions, name: string): Promise<NatsConnection> {
  const a = clientAuth(cfg);
  const auth = authenticators(a);
  try {
    return await connect({
      servers: a.servers,
      name,
      user: a.user,
      pass: a.pass,
      token: a.token,
      ...(a.tls ? { tls: a.tls } : {}),
      ...(auth.length ? { authenticator: auth } : {}),
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      timeout: 5000,
      pingInterval: 10_000,
    });
  } catch (err) {
    // no `cause`: the client's error may quote what it was given
    const e = err as Error;
    const how = [a.tls ? "TLS" : undefined, a.creds ? "creds" : undefined, a.nkey ? "nkey" : undefined, a.user !== undefined ? `user ${a.user}` : undefined, a.token !== undefined ? "token" : undefined].filter(Boolean).join(", ");
    throw new TributaryError("NATS_UNAVAILABLE", `cannot connect to NATS at ${cfg.servers.map(redactUrl).join(", ")}${how ? ` (${how})` : ""}: ${redactText(e.message ?? String(err))}`);
  }
}
