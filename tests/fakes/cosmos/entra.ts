/**
 * FakeEntra: an in-process Microsoft Entra ID token service on 127.0.0.1 (HTTPS, test CA) for
 * the real @azure/identity 4.13.1 (MSAL node) client-credentials flow. MSAL with
 * `authorityHost` + `disableInstanceDiscovery: true` makes exactly two calls: the tenant's
 * OpenID configuration and `POST /{tenant}/oauth2/v2.0/token`. Tokens are unsigned-but-
 * well-formed JWTs (aud from the scope, exp = now + tokenLifetimeSec, oid, tid, appid).
 */
import { createHash, randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import https from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { encodeJwt, type JwtClaims } from "./jwt.js";
import type { TestTls } from "./tls.js";
import { readBody, writeReply } from "./wire.js";

/** A client (app registration): its secret, and optionally its object id. */
export type FakeClient = string | { secret: string; objectId?: string };

/** Options of {@link FakeEntra.start}. */
export interface FakeEntraOptions {
  tls: TestTls;
  /** Tenants and their clients: `{ t1: { clients: { app1: "sekret" } } }`. */
  tenants: Record<string, { clients: Record<string, FakeClient> }>;
  /** Lifetime of issued tokens. @default 3600 */
  tokenLifetimeSec?: number;
  /**
   * Resources (scope without `/.default`) tokens may be issued for; others get AADSTS500011
   * (which makes @azure/cosmos fall back to https://cosmos.azure.com/.default).
   * @default any resource
   */
  resources?: string[];
}

/** One token handed out. */
export interface IssuedToken {
  tenant: string;
  clientId: string;
  scope: string;
  token: string;
  claims: JwtClaims;
}

/** A running fake Entra ID. */
export class FakeEntra {
  /** Authority host for `authorityHost` / `AZURE_AUTHORITY_HOST`, e.g. `https://127.0.0.1:4567`. */
  readonly authorityHost: string;
  /** Tokens issued so far, oldest first. */
  readonly issued: IssuedToken[] = [];
  /** Requests seen (`GET /t1/v2.0/.well-known/openid-configuration`, `POST /t1/oauth2/v2.0/token`, …). */
  readonly requests: string[] = [];
  /** Token requests refused (wrong secret, unknown client or tenant, bad scope). */
  refused = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: https.Server,
    private readonly opts: FakeEntraOptions,
  ) {
    this.authorityHost = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    server.on("connection", (s: Socket) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
  }

  /** Starts the token service on 127.0.0.1 (any free port). */
  static async start(opts: FakeEntraOptions): Promise<FakeEntra> {
    let self: FakeEntra | undefined;
    const server = https.createServer({ key: opts.tls.keyPem, cert: opts.tls.certPem }, (req, res) => {
      if (!self) return res.destroy();
      self.handle(req, res).catch((err: unknown) => writeReply(res, { status: 500, body: { error: "server_error", error_description: String(err) } }));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    self = new FakeEntra(server, opts);
    return self;
  }

  /** The object id (`oid`) tokens of this client carry; stable per tenant and client. */
  objectId(tenant: string, clientId: string): string {
    const c = this.opts.tenants[tenant]?.clients[clientId];
    if (c !== undefined && typeof c !== "string" && c.objectId) return c.objectId;
    const h = createHash("sha256").update(`${tenant}/${clientId}`).digest("hex");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }

  /** Stops listening and drops open connections. */
  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.authorityHost);
    this.requests.push(`${req.method ?? "GET"} ${url.pathname}`);
    const body = (await readBody(req)).toString("utf8");
    const [tenant, ...rest] = url.pathname.split("/").filter((s) => s !== "");
    const path = rest.join("/");
    if (req.method === "GET" && tenant && path === "v2.0/.well-known/openid-configuration") {
      if (!this.opts.tenants[tenant]) return this.fail(res, 400, "invalid_tenant", `AADSTS90002: Tenant '${tenant}' not found.`);
      return writeReply(res, { status: 200, body: this.openIdConfiguration(tenant) });
    }
    if (req.method === "POST" && tenant && path === "oauth2/v2.0/token") {
      return this.token(res, tenant, new URLSearchParams(body));
    }
    writeReply(res, { status: 404, body: { error: "not_found", error_description: `fake entra: ${req.method} ${url.pathname}` } });
  }

  private openIdConfiguration(tenant: string): Record<string, unknown> {
    const base = `${this.authorityHost}/${tenant}`;
    return {
      token_endpoint: `${base}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
      jwks_uri: `${base}/discovery/v2.0/keys`,
      response_modes_supported: ["query", "fragment", "form_post"],
      subject_types_supported: ["pairwise"],
      id_token_signing_alg_values_supported: ["RS256"],
      response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
      scopes_supported: ["openid", "profile", "email", "offline_access"],
      issuer: `${base}/v2.0`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${base}/openid/userinfo`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      claims_supported: ["sub", "iss", "aud", "exp", "iat", "nbf", "oid", "tid"],
      tenant_region_scope: "EU",
      cloud_instance_name: "fake.entra",
    };
  }

  private fail(res: ServerResponse, status: number, error: string, description: string): void {
    this.refused++;
    writeReply(res, {
      status,
      body: {
        error, error_description: `${description}\r\nTrace ID: ${randomUUID()}\r\nTimestamp: ${new Date().toISOString()}`,
        error_codes: [Number(/AADSTS(\d+)/.exec(description)?.[1] ?? 0)], timestamp: new Date().toISOString(),
      },
    });
  }

  private token(res: ServerResponse, tenant: string, form: URLSearchParams): void {
    const t = this.opts.tenants[tenant];
    if (!t) return this.fail(res, 400, "invalid_request", `AADSTS90002: Tenant '${tenant}' not found.`);
    if (form.get("grant_type") !== "client_credentials") {
      return this.fail(res, 400, "unsupported_grant_type", `AADSTS70003: grant type '${form.get("grant_type") ?? ""}' is not supported by the fake.`);
    }
    const clientId = form.get("client_id") ?? "";
    const client = t.clients[clientId];
    if (client === undefined) {
      return this.fail(res, 400, "unauthorized_client", `AADSTS700016: Application with identifier '${clientId}' was not found in the directory '${tenant}'.`);
    }
    const secret = typeof client === "string" ? client : client.secret;
    if (form.get("client_secret") !== secret) {
      return this.fail(res, 401, "invalid_client", `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`);
    }
    const scope = (form.get("scope") ?? "").split(" ").find((s) => s.endsWith("/.default"));
    if (!scope) return this.fail(res, 400, "invalid_scope", "AADSTS1002012: The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.");
    const resource = scope.slice(0, -"/.default".length);
    if (this.opts.resources && !this.opts.resources.includes(resource)) {
      return this.fail(res, 400, "invalid_resource", `AADSTS500011: The resource principal named ${resource} was not found in the tenant named ${tenant}.`);
    }
    const lifetime = this.opts.tokenLifetimeSec ?? 3600;
    const now = Math.floor(Date.now() / 1000);
    const claims: JwtClaims = {
      aud: resource, iss: `${this.authorityHost}/${tenant}/v2.0`, iat: now, nbf: now, exp: now + lifetime,
      oid: this.objectId(tenant, clientId), tid: tenant, appid: clientId, azp: clientId,
      sub: this.objectId(tenant, clientId), idtyp: "app", ver: "2.0", uti: randomUUID(),
    };
    const token = encodeJwt(claims);
    this.issued.push({ tenant, clientId, scope, token, claims });
    writeReply(res, {
      status: 200,
      body: { token_type: "Bearer", expires_in: lifetime, ext_expires_in: lifetime, access_token: token },
    });
  }
}
