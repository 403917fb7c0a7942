/**
 * The admin HTTP API of a node, as a factory (tests drive it with `inject()`, no port).
 * Errors are TributaryErrors mapped to HTTP statuses in one place (ErrorCodes.http).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import Fastify, { type FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import { ErrorCodes, TributaryError } from "../base/index.js";
import { parseStreamSpec, type StreamSpec } from "../config/index.js";

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

/** What the admin API needs from the node. */
export interface AdminNode {
  id: string;
  readiness(): { ready: boolean; reasons: string[] };
  actors(): ActorInfo[];
  listStreams(): Promise<StreamSpec[]>;
  putStream(spec: StreamSpec): Promise<"created" | "updated" | "unchanged">;
  deleteStream(id: string): Promise<boolean>;
  setPaused(id: string, paused: boolean): Promise<StreamSpec>;
  drain(): void;
  registry: Registry;
  cluster?: () => Promise<unknown>;
  /** re-snapshot a stream: clear its reader position and restart it (src/node/resnapshot.ts) */
  snapshot?: (id: string) => Promise<unknown>;
}

/** How the admin API is protected. */
export interface AdminOptions {
  /** bearer token required on /v1/* when set */
  token?: string;
}

/** Constant-time comparison, so the token cannot be guessed byte by byte from response times. */
function sameSecret(a: string, b: string): boolean {
  const x = createHash("sha256").update(a).digest();
  const y = createHash("sha256").update(b).digest();
  return timingSafeEqual(x, y);
}

/** Builds the admin HTTP API for `node` (not listening: the caller listens, tests `inject()`). */
export function buildAdmin(node: AdminNode, opts: AdminOptions = {}): FastifyInstance {
  const app = Fastify({ logger: false });

  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof TributaryError) return reply.status(ErrorCodes[err.code].http).send({ error: err.code, message: err.message });
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    return reply.status(status).send({ error: status >= 500 ? "INTERNAL" : "BAD_REQUEST", message: (err as Error).message });
  });

  app.addHook("onRequest", async (req) => {
    // the matched route, not req.url: a percent-encoded path (/%761/actors) routes to /v1/* too
    if (!opts.token || !(req.routeOptions.url ?? "").startsWith("/v1/")) return;
    if (!sameSecret(req.headers.authorization ?? "", `Bearer ${opts.token}`)) throw new TributaryError("UNAUTHORIZED", "missing or wrong bearer token (Authorization: Bearer <admin.token>)");
  });

  app.get("/healthz", async () => ({ ok: true, node: node.id }));
  app.get("/readyz", async (_req, reply) => {
    const r = node.readiness();
    return reply.status(r.ready ? 200 : 503).send({ ...r, node: node.id });
  });
  app.get("/metrics", async (_req, reply) => reply.type(node.registry.contentType).send(await node.registry.metrics()));
  app.get("/v1/actors", async () => ({ node: node.id, actors: node.actors() }));
  if (node.cluster) app.get("/v1/cluster", async () => node.cluster!());

  app.get("/v1/streams", async () => ({ streams: await node.listStreams() }));
  app.get<{ Params: { id: string } }>("/v1/streams/:id", async (req) => {
    const s = (await node.listStreams()).find((x) => x.id === req.params.id);
    if (!s) throw new TributaryError("NOT_FOUND", `no stream "${req.params.id}"`);
    return s;
  });
  const upsert = async (body: unknown, id?: string) => {
    const spec = parseStreamSpec(id ? { ...(body as object), id } : body, "stream spec in the request body");
    return { id: spec.id, result: await node.putStream(spec) };
  };
  app.post("/v1/streams", async (req, reply) => reply.status(201).send(await upsert(req.body)));
  app.put<{ Params: { id: string } }>("/v1/streams/:id", async (req) => upsert(req.body, req.params.id));
  app.delete<{ Params: { id: string } }>("/v1/streams/:id", async (req) => {
    if (!(await node.deleteStream(req.params.id))) throw new TributaryError("NOT_FOUND", `no stream "${req.params.id}"`);
    return { id: req.params.id, deleted: true };
  });
  app.post<{ Params: { id: string } }>("/v1/streams/:id/pause", async (req) => node.setPaused(req.params.id, true));
  app.post<{ Params: { id: string } }>("/v1/streams/:id/resume", async (req) => node.setPaused(req.params.id, false));
  if (node.snapshot) app.post<{ Params: { id: string } }>("/v1/streams/:id/snapshot", async (req) => node.snapshot!(req.params.id));
  app.post("/v1/drain", async (_req, reply) => {
    node.drain();
    return reply.status(202).send({ node: node.id, draining: true });
  });
  return app;
}
