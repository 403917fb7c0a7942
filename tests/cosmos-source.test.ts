// The Cosmos DB source adapter against the fake gateway and the real @azure/cosmos SDK,
// without the kernel: what it yields for each mode, where it resumes, how it starts from
// "now" durably, splits in the middle of reading, throttling beyond the SDK's own retries,
// the statuses it refuses, a recreated container, and an injected Entra ID credential.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { TokenCredential } from "@azure/identity";
import { CosmosSource, type CosmosPosition, type CosmosSourceSpec } from "../src/connectors/cosmosdb/index.js";
import { Metrics } from "../src/metrics/index.js";
import { caAgent, encodeJwt, makeTestCa, matchers } from "./fakes/cosmos/index.js";
import { cosmosRig, eventually, metricValue, runSource, sourceDeps as depsWith, type CosmosRig, type SourceRun } from "./support/index.js";

let rig: CosmosRig | undefined;
let run: SourceRun<CosmosPosition> | undefined;
afterEach(async () => {
  await run?.stop();
  run = undefined;
  await rig?.stop();
  rig = undefined;
});

const spec = (r: CosmosRig, extra: Partial<CosmosSourceSpec> = {}): CosmosSourceSpec => ({
  type: "cosmosdb", endpoint: r.fake.endpoint, database: r.db, containers: ["orders"], mode: "latestVersion",
  auth: { key: r.fake.masterKey }, pageSize: 50, pollInterval: 20, ...extra,
});

const sourceDeps = (stream = "s1", metrics = new Metrics()) => depsWith(metrics, stream);
const ids = (events: Array<{ key: Record<string, unknown> }>) => events.map((e) => String(e.key.id));

describe("Cosmos DB source", () => {
  it("latestVersion from the beginning: current documents, then changes, as op u with system properties in source; one token per container", async () => {
    rig = await cosmosRig();
    await rig.container("orders");
    await rig.container("lines", "/order");
    const orders = rig.admin.database("db").container("orders");
    for (let i = 0; i < 120; i++) await orders.items.create({ id: `o${i}`, pk: `p${i % 7}`, n: i });
    await orders.items.upsert({ id: "o5", pk: "p5", n: 555 }); // only its latest version is delivered
    run = runSource(new CosmosSource(spec(rig, { containers: ["orders", "lines"] }), sourceDeps()));
    await run.ready;
    await eventually(() => run!.events().length >= 120, 20_000, "the 120 current documents");
    await rig.admin.database("db").container("lines").items.create({ id: "l1", order: "o1", qty: 2 });
    await orders.item("o7", "p0").delete(); // invisible in latestVersion
    await orders.items.upsert({ id: "o8", pk: "p1", n: 888 });
    await eventually(() => run!.events().length >= 122, 20_000, "the changes");
    const events = run.events();
    expect(events.filter((e) => e.source.table === "orders").map((e) => String(e.key.id)).sort()).toEqual([...Array.from({ length: 120 }, (_, i) => `o${i}`), "o8"].sort());
    expect(events.every((e) => e.op === "u" && e.before === null)).toBe(true);
    const o5 = events.find((e) => e.key.id === "o5")!;
    expect(o5.after).toEqual({ id: "o5", pk: "p5", n: 555 });
    expect(o5.key).toEqual({ id: "o5", pk: "p5" });
    expect(Object.keys(o5.source).sort()).toEqual(["_attachments", "_etag", "_lsn", "_rid", "_self", "_ts", "connector", "db", "pos", "schema", "snapshot", "stream", "table", "ts_ms", "txId"]);
    const line = events.find((e) => e.source.table === "lines")!;
    expect([line.key, line.after, line.source.schema]).toEqual([{ id: "l1", order: "o1" }, { id: "l1", order: "o1", qty: 2 }, "db"]);
    // positions: one SDK token per container, event positions strictly increasing
    const pos = run.position()!;
    expect(Object.keys(pos.containers).sort()).toEqual(["lines", "orders"]);
    expect(JSON.parse(pos.containers.orders!)).toMatchObject({ rid: expect.any(String), Continuation: [{ minInclusive: "", maxExclusive: "FF" }] });
    const positions = events.map((e) => String(e.source.pos));
    expect([...positions].sort()).toEqual(positions);
    expect(new Set(positions).size).toBe(positions.length);
    // pages are batches of at most pageSize, each with a position
    expect(run.batches.every((b) => b.changes.length <= 50 && b.position !== undefined)).toBe(true);
  });

  it("resumes from a checkpoint without loss, in a later generation than the stream's tail", async () => {
    rig = await cosmosRig();
    await rig.container("orders");
    const c = rig.admin.database("db").container("orders");
    for (let i = 0; i < 30; i++) await c.items.create({ id: `a${i}`, pk: "p" });
    run = runSource(new CosmosSource(spec(rig), sourceDeps()));
    await eventually(() => run!.events().length >= 30, 20_000, "first 30");
    const checkpoint = run.position()!;
    const tail = String(run.events().at(-1)!.source.pos);
    await run.stop();
    for (let i = 0; i < 10; i++) await c.items.create({ id: `b${i}`, pk: "q" });
    await c.items.upsert({ id: "a3", pk: "p", changed: true });
    run = runSource(new CosmosSource(spec(rig), sourceDeps()), checkpoint, tail);
    await eventually(() => run!.events().length >= 11, 20_000, "the changes after the checkpoint");
    expect(ids(run.events()).sort()).toEqual(["a3", ...Array.from({ length: 10 }, (_, i) => `b${i}`)].sort());
    expect(String(run.events()[0]!.source.pos) > tail).toBe(true);
    expect(run.position()!.gen).toBe(checkpoint.gen + 1);
  });

  it("allVersionsAndDeletes from now: the start is made durable first, then c/u/d with previous images", async () => {
    rig = await cosmosRig();
    await rig.container("orders");
    const c = rig.admin.database("db").container("orders");
    await c.items.create({ id: "before", pk: "p" });
    run = runSource(new CosmosSource(spec(rig, { mode: "allVersionsAndDeletes" }), sourceDeps()));
    await eventually(() => run!.batches.length >= 1, 20_000, "the durable start");
    expect(run.batches[0]).toMatchObject({ changes: [], durable: true });
    expect(Object.keys(run.batches[0]!.position!.containers)).toEqual(["orders"]);
    await c.items.create({ id: "x", pk: "p", v: 1 });
    await c.item("x", "p").replace({ id: "x", pk: "p", v: 2 });
    await c.item("x", "p").delete();
    await eventually(() => run!.events().length >= 3, 20_000, "three changes");
    const e = run.events();
    expect(e.map((x) => [x.op, x.key, x.before, x.after])).toEqual([
      ["c", { id: "x", pk: "p" }, null, { id: "x", pk: "p", v: 1 }],
      ["u", { id: "x", pk: "p" }, { id: "x", pk: "p", v: 1 }, { id: "x", pk: "p", v: 2 }],
      ["d", { id: "x", pk: "p" }, { id: "x", pk: "p", v: 2 }, null],
    ]);
    expect(e.map((x) => x.source.operationType)).toEqual(["create", "replace", "delete"]);
    expect(run.batches.filter((b) => b.durable).length).toBe(1);
  });

  it("a split in the middle of reading: the SDK follows the children, nothing lost or twice, the token holds both ranges", async () => {
    rig = await cosmosRig();
    await rig.container("orders");
    const c = rig.admin.database("db").container("orders");
    for (let i = 0; i < 200; i++) await c.items.create({ id: `d${i}`, pk: `k${i}` });
    run = runSource(new CosmosSource(spec(rig, { pageSize: 20 }), sourceDeps()));
    await eventually(() => run!.events().length >= 20, 20_000, "a first page");
    rig.fake.split("db", "orders");
    for (let i = 200; i < 260; i++) await c.items.create({ id: `d${i}`, pk: `k${i}` });
    await eventually(() => run!.events().length >= 260, 30_000, "every document");
    const seen = ids(run.events());
    expect(seen.length).toBe(260);
    expect(new Set(seen).size).toBe(260);
    expect(rig.fake.requests.some((r) => r.status === 410 && r.substatus === 1002)).toBe(true);
    await eventually(() => (JSON.parse(run!.position()!.containers.orders!) as { Continuation: unknown[] }).Continuation.length === 2, 10_000, "a token with both child ranges");
  });

  it("a container that answered 304 waits pollInterval however busy the others are", async () => {
    rig = await cosmosRig();
    await rig.container("orders");
    await rig.container("quiet");
    const c = rig.admin.database("db").container("orders");
    for (let i = 0; i < 400; i++) await c.items.create({ id: `o${i}`, pk: `p${i % 9}` });
    run = runSource(new CosmosSource(spec(rig, { containers: ["orders", "quiet"], pageSize: 10, pollInterval: 60_000 }), sourceDeps()));
    await eventually(() => run!.events().length >= 400, 30_000, "the busy container's 40 pages");
    const feedReads = (container: string) => rig!.fake.requests.filter((r) => r.headers["a-im"] !== undefined && r.path.includes(`/colls/${container}/`)).length;
    expect(feedReads("orders")).toBeGreaterThanOrEqual(40);
    expect(feedReads("quiet")).toBe(1);
  });

  it("429 beyond the SDK's retries: waits the service's delay, goes on, counts every 429", async () => {
    rig = await cosmosRig();
    await rig.container("orders");
    const c = rig.admin.database("db").container("orders");
    await c.items.create({ id: "a", pk: "p" });
    const metrics = new Metrics();
    run = runSource(new CosmosSource(spec(rig), sourceDeps("s1", metrics)));
    await eventually(() => run!.events().length === 1, 20_000, "the first document");
    rig.fake.faults.throttle(25, 5, matchers.changeFeed); // the SDK gives up after 10 attempts: twice, then it passes
    await c.items.create({ id: "b", pk: "p" });
    await eventually(() => run!.events().length === 2, 20_000, "the document written during the storm");
    expect(rig.fake.faults.pending).toBe(0);
    expect(await metricValue(metrics, "tributary_cosmos_throttled_total", { stream: "s1", actor: "stream", container: "orders" })).toBe(25);
    expect(await metricValue(metrics, "tributary_cosmos_throttle_wait_seconds_total", { container: "orders" })).toBeCloseTo(25 * 0.005, 5);
    expect(await metricValue(metrics, "tributary_cosmos_request_units_total", { container: "orders" })).toBeGreaterThan(0);
    expect(run.batches.some((b) => b.changes.length === 0 && b.durable)).toBe(false);
  });

  it("any other answer than 200/304 fails the source with an error naming the container", async () => {
    rig = await cosmosRig();
    await rig.container("orders");
    await rig.admin.database("db").container("orders").items.create({ id: "a", pk: "p" });
    run = runSource(new CosmosSource(spec(rig), sourceDeps()));
    await eventually(() => run!.events().length === 1, 20_000, "the first document");
    rig.fake.faults.failNext(1, 400, undefined, matchers.changeFeed);
    const err = (await run.done) as Error & { code: string; retryable: boolean };
    expect(err.message).toMatch(/^Cosmos DB source http:\/\/127\.0\.0\.1:\d+\/ container db\/orders: reading the change feed: the service refused the request \(400\): Injected fault 400/);
    expect([err.code, err.retryable]).toEqual(["SOURCE_INVALID", false]);

    // a 410 that is not a split (1000: name cache stale) is retried a few times, then fails naming the container too
    run = runSource(new CosmosSource(spec(rig), sourceDeps()));
    await eventually(() => run!.events().length === 1, 20_000, "the first document again");
    rig.fake.faults.failNext(100, 410, 1000, matchers.changeFeed);
    const gone = (await run.done) as Error & { code: string };
    expect(gone.message).toMatch(/^Cosmos DB source http:\/\/127\.0\.0\.1:\d+\/ container db\/orders: reading the change feed: the service answered 410\/1000 \(expected 200 or 304\); the stream restarts from its last checkpoint$/);
    expect(gone.code).toBe("SOURCE_UNAVAILABLE");
  });

  it("a missing container, and a container recreated since the checkpoint, are refused by name", async () => {
    rig = await cosmosRig();
    await rig.container("orders");
    run = runSource(new CosmosSource(spec(rig, { containers: ["orders", "nope"] }), sourceDeps()));
    const missing = (await run.done) as Error & { code: string };
    expect(missing.message).toMatch(/^Cosmos DB source http:\/\/127\.0\.0\.1:\d+\/: container db\/nope does not exist \(or database db does not\): create it or fix source\.containers \/ source\.database of stream s1$/);
    expect(missing.code).toBe("SOURCE_INVALID");

    run = runSource(new CosmosSource(spec(rig), sourceDeps()));
    await eventually(() => run!.position() !== undefined, 20_000, "a position");
    const checkpoint = run.position()!;
    await run.stop();
    await rig.admin.database("db").container("orders").delete();
    await rig.container("orders");
    run = runSource(new CosmosSource(spec(rig), sourceDeps()), checkpoint);
    const recreated = (await run.done) as Error & { code: string };
    expect(recreated.message).toMatch(/container db\/orders was deleted and created again since stream s1 last read it \(its _rid changed\).*POST \/v1\/streams\/s1\/snapshot/);
    expect(recreated.code).toBe("SOURCE_INVALID");
  });

  it("signs in with an injected Entra ID credential over https", async () => {
    const dir = await mkdtemp(join(tmpdir(), "cosmos-src-tls-"));
    try {
      const tls = await makeTestCa(dir);
      rig = await cosmosRig({ tls, disableLocalAuth: false });
      await rig.container("orders");
      await rig.admin.database("db").container("orders").items.create({ id: "a", pk: "p" });
      const scopes: string[] = [];
      const credential: TokenCredential = {
        getToken: async (scope) => {
          scopes.push(...(Array.isArray(scope) ? scope : [scope]));
          const now = Math.floor(Date.now() / 1000);
          const token = encodeJwt({ aud: rig!.fake.origin, iss: "test", iat: now, nbf: now, exp: now + 600, oid: "o", tid: "t", appid: "a", sub: "o", uti: String(Math.random()) });
          return { token, expiresOnTimestamp: (now + 600) * 1000 };
        },
      };
      const s = spec(rig, { auth: { entra: { default: true } } });
      run = runSource(new CosmosSource(s, sourceDeps(), { credential, agent: caAgent(tls) }));
      await eventually(() => run!.events().length === 1, 20_000, "the document");
      expect(scopes[0]).toBe(`${rig.fake.origin}/.default`);
      expect(rig.fake.auth.aad).toBeGreaterThan(0);
      expect(rig.fake.requests.filter((r) => r.headers["a-im"] !== undefined).every((r) => r.auth === "aad")).toBe(true);
    } finally {
      await run?.stop();
      run = undefined;
      await rig?.stop();
      rig = undefined;
      await rm(dir, { recursive: true, force: true });
    }
  });
});
