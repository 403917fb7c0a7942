/**
 * The admin API driven through fastify's inject() (no port), against an in-process fake of
 * our AdminNode interface that records what the API asked of the node.
 */
import { Counter, Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { parseStreamSpec, type StreamSpec } from "../config/index.js";
import { buildAdmin, type ActorInfo, type AdminNode } from "./server.js";

const genSpec = (id: string, extra: Record<string, unknown> = {}): StreamSpec => parseStreamSpec({ id, source: { type: "generator" }, ...extra });

/** A fake node: streams live in a Map; every call is recorded. */
class FakeNode implements AdminNode {
  readonly id = "node-a";
  readonly registry = new Registry();
  readonly streams = new Map<string, StreamSpec>();
  ready = { ready: true, reasons: [] as string[] };
  readonly calls: Array<[string, ...unknown[]]> = [];
  readonly actorList: ActorInfo[] = [
    {
      id: "stream-orders",
      kind: "stream",
      stream: "orders",
      name: null,
      state: "running",
      status: "active",
      epoch: 3,
      ready: true,
      position: { lsn: "0/16B3748" },
      lastError: null,
      lastErrorAt: null,
      startedAt: "2024-01-01T00:00:00.000Z",
    },
  ];

  constructor() {
    new Counter({ name: "tributary_events_read_total", help: "Changes read from the source", labelNames: ["stream"], registers: [this.registry] }).inc({ stream: "orders" }, 42);
    this.streams.set("orders", genSpec("orders"));
  }
  readiness() {
    return this.ready;
  }
  actors() {
    return this.actorList;
  }
  async listStreams() {
    return [...this.streams.values()];
  }
  async putStream(spec: StreamSpec) {
    this.calls.push(["putStream", spec]);
    const had = this.streams.get(spec.id);
    this.streams.set(spec.id, spec);
    if (!had) return "created" as const;
    return JSON.stringify(had) === JSON.stringify(spec) ? ("unchanged" as const) : ("updated" as const);
  }
  async deleteStream(id: string) {
    this.calls.push(["deleteStream", id]);
    return this.streams.delete(id);
  }
  async setPaused(id: string, paused: boolean) {
    this.calls.push(["setPaused", id, paused]);
    const s = this.streams.get(id);
    if (!s) throw new Error(`no stream ${id}`);
    const next = { ...s, paused };
    this.streams.set(id, next);
    return next;
  }
  drain() {
    this.calls.push(["drain"]);
  }
}

let node: FakeNode;
let app: FastifyInstance;
beforeEach(() => {
  node = new FakeNode();
  app = buildAdmin(node);
});
afterEach(async () => {
  await app.close();
});

describe("health, readiness and metrics", () => {
  it("/healthz is 200 with the node id", async () => {
    const r = await app.inject({ method: "GET", url: "/healthz" });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ ok: true, node: "node-a" });
  });

  it("/readyz is 200 when ready and 503 with the reasons when not", async () => {
    expect((await app.inject({ method: "GET", url: "/readyz" })).statusCode).toBe(200);
    node.ready = { ready: false, reasons: ["NATS disconnected", "actor sink-orders-pg not ready"] };
    const r = await app.inject({ method: "GET", url: "/readyz" });
    expect(r.statusCode).toBe(503);
    expect(r.json()).toEqual({ ready: false, reasons: ["NATS disconnected", "actor sink-orders-pg not ready"], node: "node-a" });
  });

  it("/metrics returns the registry in Prometheus text format", async () => {
    const r = await app.inject({ method: "GET", url: "/metrics" });
    expect(r.statusCode).toBe(200);
    expect(r.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(r.body).toContain("# HELP tributary_events_read_total Changes read from the source");
    expect(r.body).toContain("# TYPE tributary_events_read_total counter");
    expect(r.body).toMatch(/^tributary_events_read_total\{stream="orders"\} 42$/m);
  });
});

describe("/v1/actors", () => {
  it("lists the node's actors", async () => {
    const r = await app.inject({ method: "GET", url: "/v1/actors" });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ node: "node-a", actors: node.actorList });
  });
});

describe("/v1/streams", () => {
  it("GET lists the streams and GET /:id returns one, 404 for an unknown id", async () => {
    const list = await app.inject({ method: "GET", url: "/v1/streams" });
    expect(list.statusCode).toBe(200);
    expect(list.json<{ streams: StreamSpec[] }>().streams.map((s) => s.id)).toEqual(["orders"]);
    const one = await app.inject({ method: "GET", url: "/v1/streams/orders" });
    expect(one.json()).toMatchObject({ id: "orders", source: { type: "generator", rate: 10 } });
    const missing = await app.inject({ method: "GET", url: "/v1/streams/nope" });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: "NOT_FOUND", message: 'no stream "nope"' });
  });

  it("POST with a valid body is 201 and hands the node the defaulted spec", async () => {
    const r = await app.inject({ method: "POST", url: "/v1/streams", payload: { id: "gen", source: { type: "generator", rate: 5 } } });
    expect(r.statusCode).toBe(201);
    expect(r.json()).toEqual({ id: "gen", result: "created" });
    expect(node.calls).toEqual([["putStream", genSpec("gen", { source: { type: "generator", rate: 5 } })]]);
    expect(node.streams.get("gen")).toMatchObject({ maxAge: 7 * 86_400_000, paused: false, transformers: [], sinks: [] });
  });

  it("POST with an invalid body is 400 CONFIG_INVALID naming the field path, and reaches no node method", async () => {
    const r = await app.inject({
      method: "POST",
      url: "/v1/streams",
      payload: { id: "bad", source: { type: "generator" }, transformers: [{ name: "t", jsonata: "$merge([" }] },
    });
    expect(r.statusCode).toBe(400);
    const body = r.json<{ error: string; message: string }>();
    expect(body.error).toBe("CONFIG_INVALID");
    expect(body.message).toMatch(/transformers\.0\.jsonata: JSONata syntax error at position \d+/);
    const r2 = await app.inject({ method: "POST", url: "/v1/streams", payload: { id: "bad", source: { type: "oracle" } } });
    expect(r2.statusCode).toBe(400);
    expect(r2.json<{ message: string }>().message).toMatch(/source\.type: .*Expected 'postgres' \| 'mysql' \| 'generator' \| 'cosmosdb' \(got "oracle"\)/);
    expect(node.calls).toEqual([]);
  });

  it("POST with a body that is not JSON is 400", async () => {
    const r = await app.inject({ method: "POST", url: "/v1/streams", headers: { "content-type": "application/json" }, payload: "{not json" });
    expect(r.statusCode).toBe(400);
    expect(node.calls).toEqual([]);
  });

  it("PUT takes the id from the path, overriding any id in the body", async () => {
    const r = await app.inject({ method: "PUT", url: "/v1/streams/orders", payload: { id: "other", source: { type: "generator", rate: 99 } } });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ id: "orders", result: "updated" });
    expect(node.streams.get("orders")?.source).toMatchObject({ rate: 99 });
    expect(node.streams.has("other")).toBe(false);
    const again = await app.inject({ method: "PUT", url: "/v1/streams/orders", payload: { source: { type: "generator", rate: 99 } } });
    expect(again.json()).toEqual({ id: "orders", result: "unchanged" });
  });

  it("PUT with an invalid id in the path is 400 naming id", async () => {
    const r = await app.inject({ method: "PUT", url: "/v1/streams/a.b", payload: { source: { type: "generator" } } });
    expect(r.statusCode).toBe(400);
    expect(r.json<{ message: string }>().message).toMatch(/\bid: stream id must be/);
  });

  it("DELETE removes a stream; an unknown one is 404", async () => {
    const r = await app.inject({ method: "DELETE", url: "/v1/streams/orders" });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ id: "orders", deleted: true });
    const again = await app.inject({ method: "DELETE", url: "/v1/streams/orders" });
    expect(again.statusCode).toBe(404);
    expect(again.json()).toEqual({ error: "NOT_FOUND", message: 'no stream "orders"' });
  });

  it("pause and resume call setPaused", async () => {
    const p = await app.inject({ method: "POST", url: "/v1/streams/orders/pause" });
    expect(p.statusCode).toBe(200);
    expect(p.json()).toMatchObject({ id: "orders", paused: true });
    const q = await app.inject({ method: "POST", url: "/v1/streams/orders/resume" });
    expect(q.json()).toMatchObject({ id: "orders", paused: false });
    expect(node.calls).toEqual([
      ["setPaused", "orders", true],
      ["setPaused", "orders", false],
    ]);
  });

  it("drain is 202 and calls drain", async () => {
    const r = await app.inject({ method: "POST", url: "/v1/drain" });
    expect(r.statusCode).toBe(202);
    expect(r.json()).toEqual({ node: "node-a", draining: true });
    expect(node.calls).toEqual([["drain"]]);
  });
});

describe("bearer token", () => {
  let secured: FastifyInstance;
  beforeEach(() => {
    secured = buildAdmin(node, { token: "s3cret" });
  });
  afterEach(async () => {
    await secured.close();
  });

  it("/v1/* without the token is 401 and reaches no node method", async () => {
    for (const [method, url] of [
      ["GET", "/v1/actors"],
      ["GET", "/v1/streams"],
      ["DELETE", "/v1/streams/orders"],
      ["POST", "/v1/drain"],
    ] as const) {
      const r = await secured.inject({ method, url });
      expect(r.statusCode, `${method} ${url}`).toBe(401);
      expect(r.json()).toMatchObject({ error: "UNAUTHORIZED" });
    }
    expect(node.calls).toEqual([]);
    expect(node.streams.has("orders")).toBe(true);
  });

  it("a percent-encoded path that routes to /v1/* still needs the token", async () => {
    const r = await secured.inject({ method: "DELETE", url: "/%761/streams/orders" });
    expect(r.statusCode).toBe(401);
    expect(node.streams.has("orders")).toBe(true);
    const ok = await secured.inject({ method: "GET", url: "/%761/actors", headers: { authorization: "Bearer s3cret" } });
    expect(ok.statusCode).toBe(200);
  });

  it("a wrong token or scheme is 401", async () => {
    for (const authorization of ["Bearer wrong", "s3cret", "Basic s3cret"]) {
      expect((await secured.inject({ method: "GET", url: "/v1/streams", headers: { authorization } })).statusCode).toBe(401);
    }
  });

  it("/v1/* with the token is 200", async () => {
    const r = await secured.inject({ method: "GET", url: "/v1/streams", headers: { authorization: "Bearer s3cret" } });
    expect(r.statusCode).toBe(200);
    const p = await secured.inject({ method: "POST", url: "/v1/streams/orders/pause", headers: { authorization: "Bearer s3cret" } });
    expect(p.statusCode).toBe(200);
    expect(node.calls).toEqual([["setPaused", "orders", true]]);
  });

  it("/healthz, /readyz and /metrics never need the token", async () => {
    for (const url of ["/healthz", "/readyz", "/metrics"]) expect((await secured.inject({ method: "GET", url })).statusCode, url).toBe(200);
  });
});
