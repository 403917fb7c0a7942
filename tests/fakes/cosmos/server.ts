/**
 * FakeCosmos: an in-process Azure Cosmos DB (NoSQL API) gateway on 127.0.0.1 that the real
 * @azure/cosmos 4.9.3 SDK talks to over HTTPS (test CA) or plain HTTP. It authenticates every
 * request (master key or Entra ID token), logs it, applies injected faults, and serves the
 * routes in routes.ts. It lives in the test process, so it survives kill -9 of the node
 * processes under test.
 */
import { randomBytes } from "node:crypto";
import http from "node:http";
import https from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { authenticate, type EntraCheckOptions, resourceOf } from "./auth.js";
import type { BatchStats } from "./bulk.js";
import { Faults, type LoggedRequest } from "./faults.js";
import { route } from "./routes.js";
import { AccountState, type Doc, type PkRange } from "./store.js";
import type { TestTls } from "./tls.js";
import { CosmosError, header, readBody, type Reply, writeReply } from "./wire.js";

/** Options of {@link FakeCosmos.start}. */
export interface FakeCosmosOptions {
  /** Serve HTTPS with this certificate; omit for plain HTTP (master key only: the SDK refuses AAD over http). */
  tls?: TestTls;
  /** Base64 master key. @default a random 64-byte key */
  masterKey?: string;
  /** Refuse master-key requests with 403, like an account with local auth disabled. @default false */
  disableLocalAuth?: boolean;
  /** Entra ID token checks (audience, principals). @default any principal, standard audiences */
  entra?: EntraCheckOptions;
  /** Port to listen on. @default 0 (any free port) */
  port?: number;
}

/** Authentication counters and the Entra ID tokens seen. */
export interface AuthStats {
  master: number;
  aad: number;
  rejected: number;
  /** Distinct AAD tokens (raw JWTs) in the order first seen. */
  tokens: string[];
}

const LOG_LIMIT = 20_000;

/** A running fake Cosmos DB account. */
export class FakeCosmos {
  /** The account endpoint, e.g. `https://127.0.0.1:34567/`. */
  readonly endpoint: string;
  /** Fault injection: throttle, failNext, storms. */
  readonly faults = new Faults();
  /** Authentication counters. */
  readonly auth: AuthStats = { master: 0, aad: 0, rejected: 0, tokens: [] };
  private readonly account = new AccountState();
  private readonly batchStats: BatchStats = { misroutedOps: 0 };
  private readonly log: LoggedRequest[] = [];
  private seq = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: http.Server,
    readonly masterKey: string,
    private readonly opts: FakeCosmosOptions,
  ) {
    const port = (server.address() as AddressInfo).port;
    this.endpoint = `${opts.tls ? "https" : "http"}://127.0.0.1:${port}/`;
    server.on("connection", (s: Socket) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
  }

  /** Starts a fake account on 127.0.0.1. */
  static async start(opts: FakeCosmosOptions = {}): Promise<FakeCosmos> {
    let self: FakeCosmos | undefined;
    const handler: http.RequestListener = (req, res) => {
      if (!self) return res.destroy();
      self.handle(req, res).catch((err: unknown) => {
        writeReply(res, { status: 500, body: { code: "InternalServerError", message: String(err) } });
      });
    };
    const server = opts.tls
      ? https.createServer({ key: opts.tls.keyPem, cert: opts.tls.certPem }, handler)
      : http.createServer(handler);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
    });
    self = new FakeCosmos(server, opts.masterKey ?? randomBytes(64).toString("base64"), opts);
    return self;
  }

  /** The endpoint origin without the trailing slash (an accepted token audience). */
  get origin(): string {
    return this.endpoint.replace(/\/$/, "");
  }

  /** Requests seen so far (latest {@link LOG_LIMIT}), oldest first. */
  get requests(): readonly LoggedRequest[] {
    return this.log;
  }

  /** The account-wide LSN of the last write. */
  get lsn(): number {
    return this.account.lsn;
  }

  /** Bulk operations the SDK routed to a range their partition key does not hash into (should stay 0). */
  get misroutedBulkOps(): number {
    return this.batchStats.misroutedOps;
  }

  /** Online partition key ranges of a container. */
  ranges(db: string, container: string): PkRange[] {
    return this.account.container(db, container).ranges.map((r) => ({ ...r, parents: [...r.parents] }));
  }

  /** Live documents of a container (system properties included), in no particular order. */
  documents(db: string, container: string): Doc[] {
    return [...this.account.container(db, container).docs.values()].map((e) => structuredClone(e.doc));
  }

  /**
   * Splits a partition key range of a container (default: the fullest one, at the median EPK of
   * its documents). Requests that still name the parent range get 410 substatus 1002 until the
   * SDK re-reads the ranges.
   */
  split(db: string, container: string, opts: { rangeId?: string; at?: string } = {}): { parent: PkRange; children: [PkRange, PkRange] } {
    return this.account.container(db, container).split(opts.rangeId, opts.at);
  }

  /** Clears the request log. */
  clearLog(): void {
    this.log.length = 0;
  }

  /** Stops listening and drops open connections (keep-alive sockets of the SDK included). */
  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://x");
    const segments = url.pathname.split("/").filter((s) => s !== "").map(decodeSegment);
    const headers: Record<string, string> = {};
    for (const name of Object.keys(req.headers)) {
      const v = header(req, name);
      if (v !== undefined) headers[name] = v;
    }
    const body = await readBody(req);
    const { authorization: _omit, ...logged } = headers;
    const entry: LoggedRequest = {
      seq: ++this.seq, method: req.method ?? "GET", path: url.pathname, resourceType: resourceOf(segments).type,
      auth: "none", headers: logged,
    };
    this.log.push(entry);
    if (this.log.length > LOG_LIMIT) this.log.splice(0, this.log.length - LOG_LIMIT);
    const reply = this.answer(entry, segments, headers, body);
    entry.status = reply.status;
    const sub = reply.headers?.["x-ms-substatus"];
    if (sub !== undefined) entry.substatus = Number(sub);
    if (reply.headers?.etag !== undefined) entry.etag = reply.headers.etag;
    writeReply(res, reply);
  }

  private answer(entry: LoggedRequest, segments: string[], headers: Record<string, string>, body: Buffer): Reply {
    try {
      const who = authenticate(entry.method, segments, headers, {
        ...(this.opts.disableLocalAuth !== undefined ? { disableLocalAuth: this.opts.disableLocalAuth } : {}),
        masterKey: this.masterKey,
        origin: this.origin,
        entra: this.opts.entra ?? {},
      });
      entry.auth = who.type;
      if (who.type === "master") this.auth.master++;
      else {
        this.auth.aad++;
        if (!this.auth.tokens.includes(who.token)) this.auth.tokens.push(who.token);
      }
    } catch (err) {
      this.auth.rejected++;
      return err instanceof CosmosError ? err.toReply() : internal(err);
    }
    try {
      const fault = this.faults.take(entry);
      if (fault) {
        entry.injected = true;
        return fault.toReply();
      }
      return route({ account: this.account, endpoint: this.endpoint, batchStats: this.batchStats }, {
        method: entry.method, segments, headers, body,
      });
    } catch (err) {
      return err instanceof CosmosError ? err.toReply() : internal(err);
    }
  }
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function internal(err: unknown): Reply {
  const message = err instanceof Error ? `${err.message}\n${err.stack ?? ""}` : String(err);
  return { status: 500, body: { code: "InternalServerError", message: `fake cosmos bug: ${message}` } };
}
