/**
 * The admin API driven through fastify's inject() (no port), against an in-process fake of
 * our AdminNode interface that records what the API asked of the node.
 */
import { Counter, Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { TributaryError } from "../base/index.js";
import { parseStreamSpec, type StreamSpec } from "../config/index.js";
import { buildAdmin, MAX_BODY_BYTES, MAX_SPEC_BYTES, type ActorInfo, type AdminNode } from "./server.js";

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
  /** as the streams store: refuses an id that exists */
  async createStream(spec: StreamSpec) {
    this.calls.push(["createStream", spec]);
    if (this.streams.has(spec.id)) throw new TributaryError("CONFLICT", `stream "${spec.id}" already exists`);
    this.streams.set(spec.id, spec);
    return "created" as const;
  }
  async deleteStream(id: string, opts: { drop: boolean }) {
    this.calls.push(["deleteStream", id, opts]);
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
  // the endpoint tests below run on a node that allows changes without a token; the
  // "who may do what" tests build their own
  app = buildAdmin(node, { insecure: true });
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
    expect(node.calls).toEqual([["createStream", { ...genSpec("gen", { source: { type: "generator", rate: 5 } }), managedBy: "api" }]]);
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
    expect(r2.json<{ message: string }>().message).toMatch(/source\.type: .*Expected 'postgres' \| 'mysql' \| 'generator' \| 'cosmosdb' \| 'mongodb' \(got "oracle"\)/);
    expect(node.calls).toEqual([]);
  });

  it("POST with a body that is not JSON is 400", async () => {
    const r = await app.inject({ method: "POST", url: "/v1/streams", headers: { "content-type": "application/json" }, payload: "{not json" });
    expect(r.statusCode).toBe(400);
    expect(node.calls).toEqual([]);
  });

  it("POST with the id of an existing stream is 409 CONFLICT and replaces nothing (issue 10)", async () => {
    const before = node.streams.get("orders");
    const r = await app.inject({ method: "POST", url: "/v1/streams", payload: { id: "orders", source: { type: "generator", rate: 77 } } });
    expect(r.statusCode).toBe(409);
    expect(r.json()).toEqual({ error: "CONFLICT", message: 'stream "orders" already exists' });
    expect(node.streams.get("orders")).toBe(before);
    expect(node.calls.map((c) => c[0])).toEqual(["createStream"]);
  });

  it("PUT with a body id other than the path's is 400 naming both, and reaches no node method (issue 10)", async () => {
    const r = await app.inject({ method: "PUT", url: "/v1/streams/orders", payload: { id: "other", source: { type: "generator", rate: 99 } } });
    expect(r.statusCode).toBe(400);
    expect(r.json<{ error: string; message: string }>()).toMatchObject({ error: "CONFIG_INVALID" });
    expect(r.json<{ message: string }>().message).toMatch(/^stream spec in the request body: id: "other" differs from the path's "orders"/);
    expect(node.calls).toEqual([]);
    expect(node.streams.get("orders")?.source).toMatchObject({ rate: 10 });
  });

  it("a spec just under the body limit is 400 naming its size, never 500; a body over it is 413 (issue 10)", async () => {
    const spec = (n: number) => JSON.stringify({ id: "big", source: { type: "generator" }, transformers: [{ name: "t", jsonata: `"${"x".repeat(n)}"` }] });
    const under = spec(MAX_BODY_BYTES - 1000);
    expect(Buffer.byteLength(under)).toBeLessThan(MAX_BODY_BYTES);
    const r = await app.inject({ method: "POST", url: "/v1/streams", headers: { "content-type": "application/json" }, payload: under });
    expect(r.statusCode).toBe(400);
    expect(r.json<{ error: string; message: string }>().error).toBe("CONFIG_INVALID");
    expect(r.json<{ message: string }>().message).toMatch(new RegExp(`stream big is \\d+ bytes as stored; a spec may be at most ${MAX_SPEC_BYTES} bytes`));
    const put = await app.inject({ method: "PUT", url: "/v1/streams/big", headers: { "content-type": "application/json" }, payload: under });
    expect(put.statusCode).toBe(400);
    const over = await app.inject({ method: "POST", url: "/v1/streams", headers: { "content-type": "application/json" }, payload: spec(MAX_BODY_BYTES) });
    expect(over.statusCode).toBe(413);
    expect(over.json()).toEqual({ error: "TOO_LARGE", message: `request body over ${MAX_BODY_BYTES} bytes: not read (a stream spec may be at most ${MAX_SPEC_BYTES} bytes)` });
    expect(node.calls).toEqual([]);
    // the largest spec allowed is stored
    const most = await app.inject({ method: "POST", url: "/v1/streams", headers: { "content-type": "application/json" }, payload: spec(MAX_SPEC_BYTES - 400) });
    expect(most.statusCode).toBe(201);
  });

  it("PUT takes the id from the path when the body has none", async () => {
    const r = await app.inject({ method: "PUT", url: "/v1/streams/orders", payload: { source: { type: "generator", rate: 99 } } });
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
    secured = buildAdmin(node, { token: "s3cret", readToken: "r3ader" });
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

  it("the read-only token reads /v1/* and is refused (403) by every mutating endpoint", async () => {
    const reader = { authorization: "Bearer r3ader" };
    for (const url of ["/v1/actors", "/v1/streams", "/v1/streams/orders"]) expect((await secured.inject({ method: "GET", url, headers: reader })).statusCode, url).toBe(200);
    for (const [method, url] of [
      ["POST", "/v1/streams"],
      ["PUT", "/v1/streams/orders"],
      ["DELETE", "/v1/streams/orders"],
      ["POST", "/v1/streams/orders/pause"],
      ["POST", "/v1/drain"],
    ] as const) {
      const r = await secured.inject({ method, url, headers: reader, payload: { id: "x", source: { type: "generator" } } });
      expect(r.statusCode, `${method} ${url}`).toBe(403);
      expect(r.json<{ message: string }>().message).toMatch(/read-only token/);
    }
    expect(node.calls).toEqual([]);
  });

  it("/healthz, /readyz and /metrics never need the token", async () => {
    for (const url of ["/healthz", "/readyz", "/metrics"]) expect((await secured.inject({ method: "GET", url })).statusCode, url).toBe(200);
  });
});

describe("safe by default: a node without admin.token", () => {
  let plain: FastifyInstance;
  beforeEach(() => {
    plain = buildAdmin(node);
  });
  afterEach(async () => {
    await plain.close();
  });

  it("serves the read-only endpoints and refuses (403) every mutating one, naming admin.token", async () => {
    for (const url of ["/v1/actors", "/v1/streams", "/v1/streams/orders", "/healthz", "/readyz", "/metrics"]) {
      expect((await plain.inject({ method: "GET", url })).statusCode, url).toBe(200);
    }
    for (const [method, url] of [
      ["POST", "/v1/streams"],
      ["PUT", "/v1/streams/orders"],
      ["DELETE", "/v1/streams/orders"],
      ["POST", "/v1/streams/orders/pause"],
      ["POST", "/v1/streams/orders/resume"],
      ["POST", "/v1/drain"],
    ] as const) {
      const r = await plain.inject({ method, url, payload: { id: "x", source: { type: "generator" } } });
      expect(r.statusCode, `${method} ${url}`).toBe(403);
      expect(r.json()).toMatchObject({ error: "FORBIDDEN" });
      expect(r.json<{ message: string }>().message).toMatch(/admin\.token/);
    }
    expect(node.calls).toEqual([]);
    expect(node.streams.has("orders")).toBe(true);
  });

  it("admin.insecure: true opens them (the node warns at start-up)", async () => {
    const open = buildAdmin(node, { insecure: true });
    expect((await open.inject({ method: "POST", url: "/v1/streams/orders/pause" })).statusCode).toBe(200);
    await open.close();
  });

  it("with a token, admin.insecure changes nothing: the token is still required", async () => {
    const both = buildAdmin(node, { token: "t0ken-t0ken-t0ken", insecure: true });
    expect((await both.inject({ method: "POST", url: "/v1/streams/orders/pause" })).statusCode).toBe(401);
    await both.close();
  });
});

describe("admin.allowedHosts", () => {
  const pg = (url: string, sinkUrl = "postgres://app@db.internal:5432/warehouse") => ({
    id: "s",
    source: { type: "postgres", url, tables: ["public.t"] },
    sinks: [{ name: "k", type: "postgres", url: sinkUrl }],
  });
  let guarded: FastifyInstance;
  beforeEach(() => {
    guarded = buildAdmin(node, { insecure: true, allowedHosts: ["db.internal", "*.corp.example", "10.0.0.5:5432"] });
  });
  afterEach(async () => {
    await guarded.close();
  });

  it("accepts a spec whose every URL is on the list (host, *.domain, host:port)", async () => {
    for (const [i, url] of ["postgres://app:${PGPASSWORD}@db.internal/shop", "postgres://app@pg1.corp.example:6432/shop", "postgres://app@10.0.0.5:5432/shop"].entries()) {
      const r = await guarded.inject({ method: "POST", url: "/v1/streams", payload: { ...pg(url), id: `s${i}` } });
      expect(r.statusCode, url).toBe(201);
    }
  });

  it("refuses (403) a host, a port, a libpq ?host= or a reference outside the list, naming the field, and writes nothing", async () => {
    const cases: Array<[string, RegExp]> = [
      ["postgres://app:pw@evil.example:5432/shop", /source\.url: host evil\.example:5432 is not in admin\.allowedHosts/],
      ["postgres://app@10.0.0.5:22/shop", /source\.url: host 10\.0\.0\.5:22 is not in admin\.allowedHosts/],
      ["postgres://app@db.internal/shop?host=169.254.169.254", /source\.url: host 169\.254\.169\.254 is not in admin\.allowedHosts/],
      ["postgres://app@${TARGET_HOST}/shop", /source\.url: its host is a \$\{…\} reference/],
      ["${DATABASE_URL}", /source\.url: its host is a \$\{…\} reference/],
    ];
    for (const [url, re] of cases) {
      const r = await guarded.inject({ method: "POST", url: "/v1/streams", payload: pg(url) });
      expect(r.statusCode, url).toBe(403);
      expect(r.json<{ message: string }>().message, url).toMatch(re);
      expect(r.json<{ message: string }>().message).not.toContain(":pw@");
    }
    const sink = await guarded.inject({ method: "PUT", url: "/v1/streams/s", payload: pg("postgres://app@db.internal/shop", "postgres://u@exfil.example/x") });
    expect(sink.statusCode).toBe(403);
    expect(sink.json<{ message: string }>().message).toMatch(/sinks\.0\.url: host exfil\.example is not in admin\.allowedHosts/);
    expect(node.calls).toEqual([]);
  });
});

describe("responses pass through the node's scrubber", () => {
  it("a secret in an actor's last error never leaves the API", async () => {
    node.actorList[0]!.lastError = "connect failed: password authentication failed (pw=hunter2-very-secret)";
    const scrubbed = buildAdmin(node, { scrub: (t) => t.split("hunter2-very-secret").join("***") });
    const r = await scrubbed.inject({ method: "GET", url: "/v1/actors" });
    expect(r.body).not.toContain("hunter2-very-secret");
    expect(r.body).toContain("pw=***");
    await scrubbed.close();
  });
});

describe("literal secrets in specs", () => {
  it("POST accepts one with a warning naming the field; GET and pause show it masked, references as written", async () => {
    const body = {
      id: "lit",
      source: { type: "postgres", url: "postgres://app:written-out-pw@db/shop", tables: ["public.t"] },
      sinks: [{ name: "k", type: "postgres", url: "postgres://app:${PGPASSWORD}@db/w" }],
    };
    const r = await app.inject({ method: "POST", url: "/v1/streams", payload: body });
    expect(r.statusCode).toBe(201);
    expect(r.json<{ warnings: string[] }>().warnings).toEqual([expect.stringMatching(/^source\.url holds a secret written out: it is stored in the streams bucket as written; reference it instead/)]);
    for (const [method, url] of [["GET", "/v1/streams"], ["GET", "/v1/streams/lit"], ["POST", "/v1/streams/lit/pause"]] as const) {
      const out = (await app.inject({ method, url })).body;
      expect(out, url).not.toContain("written-out-pw");
      expect(out, url).toContain("postgres://app:***@db/shop");
      expect(out, url).toContain("postgres://app:${PGPASSWORD}@db/w");
    }
  });
});
