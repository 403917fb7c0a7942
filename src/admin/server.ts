/**
 * The admin HTTP API of a node, as a factory (tests drive it with `inject()`, no port).
 * Errors are TributaryErrors mapped to HTTP statuses in one place (ErrorCodes.http).
 *
 * Safe by default (docs/operations.md, "The admin API of a node"): the probes and /metrics
 * are open; GET /v1/* needs the admin or the read-only token when either is set; every
 * mutating endpoint needs the admin token, and without one it is off unless the node runs
 * with `admin.insecure`. Every response passes through the node's secret scrubber.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import Fastify, { type FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import { ErrorCodes, TributaryError, literalSecrets, redactSpec } from "../base/index.js";
import { parseStreamSpec, type StreamSpec } from "../config/index.js";
import { checkAllowedHosts } from "./allowed-hosts.js";

/** What /v1/actors shows for one actor this node runs (taken from its machine's snapshot). */
export interface ActorInfo {
  id: string;
  kind: "stream" | "transformer" | "sink";
  stream: string;
  name: string | null;
  /** the machine's state, e.g. "running.active.running", "running.backoff", "contending" */
  state: string;
  /** the machine's status: "active", "done", "error" or "stopped" */
  status: string;
  epoch: number | null;
  ready: boolean;
  /** the latest checkpointed position */
  position: unknown;
  lastError: string | null;
  lastErrorAt: string | null;
  startedAt: string;
}

/** One actor that does not run as it should, anywhere in the cluster. */
export interface FailingActor {
  actor: string;
  stream: string;
  /** the node whose actor fails (null: nobody holds its lease) */
  node: string | null;
  state: string;
  error: string | null;
  since: string | null;
}

/** GET /v1/health: the cluster's failing actors, by stream. */
export interface HealthReport {
  healthy: boolean;
  failing: FailingActor[];
}

/** What a deletion answers (src/node/retired.ts). */
export interface DeletionAnswer {
  id: string;
  deleted: true;
  kept: unknown;
  warning: string | null;
  dropped?: string[];
}

/** What the admin API needs from the node. */
export interface AdminNode {
  id: string;
  readiness(): { ready: boolean; reasons: string[] };
  actors(): ActorInfo[];
  listStreams(): Promise<StreamSpec[]>;
  putStream(spec: StreamSpec): Promise<"created" | "updated" | "unchanged">;
  /** creates a stream; CONFLICT (409), naming it, when the id exists (POST never replaces) */
  createStream(spec: StreamSpec): Promise<"created">;
  /** deletes a stream keeping its resources (reported), or dropping them with `drop` */
  deleteStream(id: string, opts: { drop: boolean }): Promise<DeletionAnswer | boolean>;
  setPaused(id: string, paused: boolean): Promise<StreamSpec>;
  drain(): void;
  registry: Registry;
  cluster?: () => Promise<unknown>;
  /** re-snapshot a stream: clear its reader position and restart it (src/node/resnapshot.ts) */
  snapshot?: (id: string) => Promise<unknown>;
  /** the failing actors of the cluster (GET /v1/health, and `health` in GET /v1/streams/:id) */
  health?: () => Promise<HealthReport>;
  /** drops what a deleted stream kept (DELETE /v1/streams/:id/resources) */
  dropResources?: (id: string) => Promise<unknown>;
}

/** How the admin API is protected. */
export interface AdminOptions {
  /** admin bearer token: mutating endpoints need it, read-only ones accept it */
  token?: string;
  /** read-only bearer token: accepted by GET /v1/* */
  readToken?: string;
  /** serve mutating endpoints without a token when `token` is not set */
  insecure?: boolean;
  /** hosts a POSTed/PUT spec may connect to (unset: any) */
  allowedHosts?: readonly string[];
  /** rewrites every response body (the node's secret scrubber) */
  scrub?: (text: string) => string;
}

/** Largest request body the API reads (fastify's `bodyLimit`): 1 MiB. */
export const MAX_BODY_BYTES = 1024 * 1024;
/**
 * Largest stream spec the API stores, as stored (JSON with defaults): a KV entry must fit in
 * one NATS message (max_payload, 1 MiB by default) with room to spare; larger specs were
 * refused by NATS after validation and answered 500.
 */
export const MAX_SPEC_BYTES = 512 * 1024;

/** Constant-time comparison, so the token cannot be guessed byte by byte from response times. */
function sameSecret(a: string, b: string): boolean {
  const x = createHash("sha256").update(a).digest();
  const y = createHash("sha256").update(b).digest();
  return timingSafeEqual(x, y);
}

/** Builds the admin HTTP API for `node` (not listening: the caller listens, tests `inject()`). */
export function buildAdmin(node: AdminNode, opts: AdminOptions = {}): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: MAX_BODY_BYTES });

  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof TributaryError) return reply.status(ErrorCodes[err.code].http).send({ error: err.code, message: err.message });
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    if (status === 413) {
      return reply.status(413).send({ error: "TOO_LARGE", message: `request body over ${MAX_BODY_BYTES} bytes: not read (a stream spec may be at most ${MAX_SPEC_BYTES} bytes)` });
    }
    return reply.status(status).send({ error: status >= 500 ? "INTERNAL" : "BAD_REQUEST", message: (err as Error).message });
  });

  app.addHook("onRequest", async (req) => {
    // the matched route, not req.url: a percent-encoded path (/%761/actors) routes to /v1/* too
    if (!(req.routeOptions.url ?? "").startsWith("/v1/")) return;
    const auth = req.headers.authorization ?? "";
    const isAdmin = opts.token !== undefined && sameSecret(auth, `Bearer ${opts.token}`);
    const isReader = opts.readToken !== undefined && sameSecret(auth, `Bearer ${opts.readToken}`);
    if (req.method === "GET" || req.method === "HEAD") {
      if ((opts.token !== undefined || opts.readToken !== undefined) && !isAdmin && !isReader) {
        throw new TributaryError("UNAUTHORIZED", "missing or wrong bearer token (Authorization: Bearer <admin.token or admin.readToken>)");
      }
      return;
    }
    if (isAdmin) return;
    if (opts.token !== undefined) {
      if (isReader) throw new TributaryError("FORBIDDEN", "the read-only token (admin.readToken) cannot change anything; use admin.token");
      throw new TributaryError("UNAUTHORIZED", "missing or wrong bearer token (Authorization: Bearer <admin.token>)");
    }
    if (!opts.insecure) {
      throw new TributaryError("FORBIDDEN", `${req.method} ${req.routeOptions.url} is off on this node: it has no admin.token. Set admin.token (or admin.insecure: true to allow anyone who reaches the port)`);
    }
  });

  const scrub = opts.scrub;
  if (scrub) app.addHook("onSend", async (_req, _reply, payload) => (typeof payload === "string" ? scrub(payload) : payload));

  app.get("/healthz", async () => ({ ok: true, node: node.id }));
  app.get("/readyz", async (_req, reply) => {
    const r = node.readiness();
    return reply.status(r.ready ? 200 : 503).send({ ...r, node: node.id });
  });
  app.get("/metrics", async (_req, reply) => reply.type(node.registry.contentType).send(await node.registry.metrics()));
  app.get("/v1/actors", async () => ({ node: node.id, actors: node.actors() }));
  if (node.cluster) app.get("/v1/cluster", async () => node.cluster!());
  if (node.health) {
    app.get("/v1/health", async (_req, reply) => {
      const h = await node.health!();
      return reply.status(h.healthy ? 200 : 503).send({ node: node.id, ...h });
    });
  }

  // specs are shown with literal secrets masked; ${…} references are no secrets and stay
  app.get("/v1/streams", async () => ({ streams: (await node.listStreams()).map((s) => redactSpec(s)) }));
  app.get<{ Params: { id: string } }>("/v1/streams/:id", async (req) => {
    const s = (await node.listStreams()).find((x) => x.id === req.params.id);
    if (!s) throw new TributaryError("NOT_FOUND", `no stream "${req.params.id}"`);
    if (!node.health) return redactSpec(s);
    const failing = (await node.health()).failing.filter((f) => f.stream === s.id);
    return { ...redactSpec(s), health: { healthy: failing.length === 0, failing } };
  });
  /** POST creates (409 when the id exists); PUT creates or replaces the stream of its path. */
  const upsert = async (body: unknown, id?: string) => {
    // a GET's `health` is not part of the spec: a spec read and PUT back stays valid
    const { health: _health, ...rest } = (body && typeof body === "object" ? body : {}) as Record<string, unknown>;
    if (id !== undefined && rest.id !== undefined && rest.id !== id) {
      throw new TributaryError("CONFIG_INVALID", `stream spec in the request body: id: ${JSON.stringify(rest.id)} differs from the path's "${id}"; leave it out or make them equal (a stream is renamed by creating the new one and deleting the old)`);
    }
    const spec = parseStreamSpec(id ? { ...rest, id } : body, "stream spec in the request body");
    if (opts.allowedHosts) checkAllowedHosts(spec, opts.allowedHosts);
    const stored = { ...spec, managedBy: "api" as const };
    const bytes = Buffer.byteLength(JSON.stringify(stored));
    if (bytes > MAX_SPEC_BYTES) {
      throw new TributaryError("CONFIG_INVALID", `stream spec in the request body: stream ${spec.id} is ${bytes} bytes as stored; a spec may be at most ${MAX_SPEC_BYTES} bytes (it is one NATS KV entry)`);
    }
    const result = id === undefined ? await node.createStream(stored) : await node.putStream(stored);
    const literal = literalSecrets(spec);
    if (!literal.length) return { id: spec.id, result };
    return { id: spec.id, result, warnings: literal.map((p) => `${p} holds a secret written out: it is stored in the streams bucket as written; reference it instead (\${VAR} or \${file:/path}, resolved by each node)`) };
  };
  app.post("/v1/streams", async (req, reply) => reply.status(201).send(await upsert(req.body)));
  app.put<{ Params: { id: string } }>("/v1/streams/:id", async (req) => upsert(req.body, req.params.id));
  app.delete<{ Params: { id: string }; Querystring: { drop?: string } }>("/v1/streams/:id", async (req) => {
    const drop = req.query.drop === "true" || req.query.drop === "1";
    const r = await node.deleteStream(req.params.id, { drop });
    if (r === false) throw new TributaryError("NOT_FOUND", `no stream "${req.params.id}"`);
    return r === true ? { id: req.params.id, deleted: true } : r;
  });
  if (node.dropResources) app.delete<{ Params: { id: string } }>("/v1/streams/:id/resources", async (req) => node.dropResources!(req.params.id));
  app.post<{ Params: { id: string } }>("/v1/streams/:id/pause", async (req) => redactSpec(await node.setPaused(req.params.id, true)));
  app.post<{ Params: { id: string } }>("/v1/streams/:id/resume", async (req) => redactSpec(await node.setPaused(req.params.id, false)));
  if (node.snapshot) app.post<{ Params: { id: string } }>("/v1/streams/:id/snapshot", async (req) => node.snapshot!(req.params.id));
  app.post("/v1/drain", async (_req, reply) => {
    node.drain();
    return reply.status(202).send({ node: node.id, draining: true });
  });
  return app;
}
