/**
 * Source resources have one owner (issue 10, item 1; docs/adr/0010). The cases on a
 * real PostgreSQL: a second stream on one replication slot, or on one publication, is
 * refused by `validate`, `apply`, the admin API and a node start, naming the other stream, and — when it
 * reaches a reader anyway (another cluster, a legacy name) — by the reader itself, without
 * disturbing the owner, which receives every change. `Orders` and `orders` get two slots; a
 * MySQL server id clash is refused; a stream created before the derived names keeps its
 * legacy slot and position.
 */
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TributaryError } from "../src/base/index.js";
import { defaultSlotName, legacySlotName, PostgresSource, type PgCheckpoint } from "../src/connectors/postgres/index.js";
import { parseStreamSpec } from "../src/config/index.js";
import { Metrics } from "../src/metrics/index.js";
import { getStream, type RunningNode } from "../src/node/index.js";
import { assertBuilt, cleanupCluster, createDb, eventually, runCli, runSource, startTestNode, uniqueCluster, uniqueName, writeConfigFile, NATS_URL, type SourceRun, type TestDb } from "./support/index.js";

let db: TestDb;
const clusters: string[] = [];
const runs: Array<SourceRun<PgCheckpoint>> = [];
const nodes: RunningNode[] = [];

beforeAll(async () => {
  assertBuilt();
  db = await createDb("own");
  await db.query("CREATE TABLE t1 (id int PRIMARY KEY, v text); CREATE TABLE t2 (id int PRIMARY KEY, v text)");
});
afterEach(async () => {
  for (const r of runs.splice(0)) await r.stop();
  for (const n of nodes.splice(0)) await n.shutdown("test done").catch(() => undefined);
});
afterAll(async () => {
  for (const c of clusters) await cleanupCluster(c).catch(() => undefined);
  await db.drop();
});

const newCluster = (): string => {
  const c = uniqueCluster("own");
  clusters.push(c);
  return c;
};

/** A PostgreSQL source of `stream` in `cluster`, outside a node (the reader itself). */
function source(cluster: string, stream: string, src: Record<string, unknown>): PostgresSource {
  const spec = parseStreamSpec({ id: stream, source: { type: "postgres", url: db.url, snapshot: "never", ...src } }).source;
  if (spec.type !== "postgres") throw new Error("not a postgres source");
  return new PostgresSource(spec, {
    stream: { id: stream, maxAge: 60_000 },
    settings: { cluster, replicas: 1, checkpoint: { interval: 200, maxEvents: 1000 } },
    log: pino({ level: process.env.TEST_LOG ?? "silent" }),
    metrics: new Metrics(),
  });
}
function run(s: PostgresSource, checkpoint: PgCheckpoint | null = null): SourceRun<PgCheckpoint> {
  const r = runSource<PgCheckpoint>(s, checkpoint);
  runs.push(r);
  return r;
}
const walsender = async (slot: string) => (await db.query<{ pid: number | null }>("SELECT active_pid AS pid FROM pg_replication_slots WHERE slot_name = $1", [slot])).rows[0]?.pid ?? null;
const owner = async (kind: string, name: string) => (await db.query<{ cluster: string; stream: string }>("SELECT cluster, stream FROM tributary.resource_owners WHERE kind = $1 AND name = $2", [kind, name])).rows[0];
/** The ids of the rows `r` read from `table` (the PostgreSQL source encodes its events itself). */
const ids = (r: SourceRun<PgCheckpoint>, table: string) =>
  r.batches.flatMap((b) => b.changes.filter((c) => c.table === table).map((c) => Number((JSON.parse(typeof c.json === "string" ? c.json : Buffer.from(c.json ?? "").toString()) as { after: { id: unknown } }).after.id)));

describe("at run time a reader refuses a slot or publication another stream owns", () => {
  it("two streams on one slot: the second is refused (not retryable, naming the owner); the first loses nothing", async () => {
    const slot = uniqueName("shared").slice(0, 60);
    const a = run(source("c1", "a", { tables: ["public.t1"], slot }));
    await a.ready;
    const pid = await walsender(slot);
    const err = await run(source("c2", "b", { tables: ["public.t2"], slot })).done;
    expect(err).toBeInstanceOf(TributaryError);
    expect((err as TributaryError).retryable).toBe(false);
    expect((err as Error).message).toMatch(new RegExp(`replication slot ${slot} belongs to stream a of cluster c1`));
    await db.query("INSERT INTO t1 SELECT g, 'x' FROM generate_series(1, 20) g");
    await eventually(() => ids(a, "t1").length >= 20, 30_000, "the owner's 20 rows");
    expect(ids(a, "t1")).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(await walsender(slot)).toBe(pid); // nobody terminated the owner's walsender
    expect(await owner("slot", slot)).toEqual({ cluster: "c1", stream: "a" });
  });

  it("two streams on one publication: the second is refused and the publication keeps the first's table list", async () => {
    const publication = uniqueName("pub").slice(0, 60);
    const a = run(source("c1", "pa", { tables: ["public.t1"], slot: uniqueName("sa").slice(0, 60), publication }));
    await a.ready;
    const err = await run(source("c1", "pb", { tables: ["public.t2"], slot: uniqueName("sb").slice(0, 60), publication })).done;
    expect((err as Error).message).toMatch(new RegExp(`publication ${publication} belongs to stream pa of cluster c1`));
    const tables = await db.query<{ t: string }>("SELECT tablename AS t FROM pg_publication_tables WHERE pubname = $1", [publication]);
    expect(tables.rows.map((r) => r.t)).toEqual(["t1"]);
    await db.query("INSERT INTO t1 SELECT g, 'y' FROM generate_series(101, 111) g");
    await eventually(() => ids(a, "t1").length >= 11, 30_000, "the owner's 11 rows");
    expect(ids(a, "t1")).toEqual(Array.from({ length: 11 }, (_, i) => i + 101));
  });

  it("a stream created before the derived names keeps its legacy slot and its position, and marks it its own; starting over drops it", async () => {
    const id = `Legacy${Date.now().toString(36)}`;
    const legacy = legacySlotName(id);
    const created = await db.query<{ lsn: string }>("SELECT lsn::text AS lsn FROM pg_create_logical_replication_slot($1, 'pgoutput')", [legacy]);
    await db.query(`CREATE PUBLICATION ${legacy} FOR TABLE t2`);
    await db.query("INSERT INTO t2 VALUES (1, 'written while the stream was stopped')");
    const r = run(source("c1", id, { tables: ["public.t2"] }), { lsn: created.rows[0]!.lsn, snapshotDone: true, slot: legacy });
    await r.ready;
    await db.query("INSERT INTO t2 VALUES (2, 'after')");
    await eventually(() => ids(r, "t2").length >= 2, 30_000, "both rows from the legacy slot");
    expect(ids(r, "t2")).toEqual([1, 2]);
    expect(r.position()?.slot).toBe(legacy);
    expect(await owner("slot", legacy)).toEqual({ cluster: "c1", stream: id });
    expect((await db.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", [defaultSlotName("c1", id)])).rowCount).toBe(0);

    // starting over (a re-snapshot clears the position) moves it to its derived name and drops the legacy slot
    await r.stop();
    runs.splice(runs.indexOf(r), 1);
    const again = run(source("c1", id, { tables: ["public.t2"] }));
    await again.ready;
    const derived = defaultSlotName("c1", id);
    expect(again.position()?.slot).toBe(derived);
    expect((await db.query("SELECT slot_name FROM pg_replication_slots WHERE slot_name = ANY($1)", [[legacy, derived]])).rows).toEqual([{ slot_name: derived }]);
    expect((await db.query("SELECT 1 FROM pg_publication WHERE pubname = $1", [legacy])).rowCount).toBe(0);
    expect(await owner("slot", legacy)).toBeUndefined();
    expect(await owner("slot", derived)).toEqual({ cluster: "c1", stream: id });
  });
});

describe("validate, apply and the admin API refuse a spec whose slot, publication or server id another stream uses", () => {
  const pg = (id: string, extra: Record<string, unknown> = {}) => ({ id, paused: true, source: { type: "postgres", url: db.url, tables: ["public.t1"], snapshot: "never", ...extra } });
  const inject = async (n: RunningNode, method: "POST" | "PUT", url: string, payload: unknown) => {
    const r = await n.admin.inject({ method, url, payload: payload as Record<string, unknown> });
    return { status: r.statusCode, body: r.json<{ message?: string }>() };
  };

  it("validate refuses a file with two streams on one slot, naming the other stream", async () => {
    const file = writeConfigFile({ cluster: "c1", streams: [pg("a", { slot: "same_slot" }), pg("b", { slot: "same_slot" })] });
    const r = await runCli(["validate", "-f", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("streams.1.source.slot: replication slot same_slot is already used by stream a of cluster c1");
  });

  it("POST, PUT and apply refuse a second stream on a slot or publication of the cluster; MySQL server ids likewise", async () => {
    const cluster = newCluster();
    const n = await startTestNode(cluster, []);
    nodes.push(n);
    expect((await inject(n, "POST", "/v1/streams", pg("a", { slot: "slot_a" }))).status).toBe(201);
    const post = await inject(n, "POST", "/v1/streams", pg("b", { slot: "slot_a" }));
    expect(post.status).toBe(400);
    expect(post.body.message).toContain(`stream b: source.slot: replication slot slot_a is already used by stream a of cluster ${cluster}`);
    const put = await inject(n, "PUT", "/v1/streams/b", pg("b", { slot: "slot_b", publication: "slot_a" }));
    expect(put.status).toBe(400);
    expect(put.body.message).toContain("source.publication: publication slot_a is already used by stream a");
    // a stream may be written again with its own resources
    expect((await inject(n, "PUT", "/v1/streams/a", pg("a", { slot: "slot_a", tables: ["public.t1", "public.t2"] }))).status).toBe(200);

    const my = (id: string) => ({ id, paused: true, source: { type: "mysql", url: "mysql://root@127.0.0.1:3306/x", tables: ["x.t"], serverId: 4242 } });
    expect((await inject(n, "POST", "/v1/streams", my("m1"))).status).toBe(201);
    const myClash = await inject(n, "POST", "/v1/streams", my("m2"));
    expect(myClash.status).toBe(400);
    expect(myClash.body.message).toContain("source.serverId: replication server id 4242 is already used by stream m1");

    const file = writeConfigFile({ cluster, nats: { servers: [NATS_URL] }, streams: [pg("c", { slot: "slot_a" })] });
    const apply = await runCli(["apply", "-f", file]);
    expect(apply.code).toBe(2);
    expect(apply.stderr).toContain("stream c: source.slot: replication slot slot_a is already used by stream a");
    expect(await getStream(n.cp.streams, "b")).toBeUndefined();
    expect(await getStream(n.cp.streams, "c")).toBeUndefined();

    // a node start creates its file's new streams, but not one on another stream's slot
    const second = await startTestNode(cluster, [pg("d", { slot: "slot_a" }), pg("e", { slot: "slot_e" })], { node: { id: `n2-${cluster}` } });
    nodes.push(second);
    expect(await getStream(n.cp.streams, "d")).toBeUndefined();
    expect(await getStream(n.cp.streams, "e")).toBeDefined();

    // a deleted stream keeps its slot until it is dropped: still not another stream's
    expect((await n.admin.inject({ method: "DELETE", url: "/v1/streams/a" })).statusCode).toBe(200);
    const afterDelete = await inject(n, "POST", "/v1/streams", pg("f", { slot: "slot_a" }));
    expect(afterDelete.status).toBe(400);
    expect(afterDelete.body.message).toContain("replication slot slot_a is already used by deleted stream a, which kept its source resources (drop them: tributary drop a)");
    expect((await inject(n, "POST", "/v1/streams", pg("a", { slot: "slot_a" }))).status).toBe(201); // re-created, it is its own again
  });

  it("Orders and orders, with default names, run on two slots of their own", async () => {
    const cluster = newCluster();
    const n = await startTestNode(cluster, []);
    nodes.push(n);
    for (const id of ["Orders", "orders"]) expect((await inject(n, "POST", "/v1/streams", { ...pg(id), paused: false })).status).toBe(201);
    const slots = ["Orders", "orders"].map((id) => defaultSlotName(cluster, id));
    expect(new Set(slots).size).toBe(2);
    await eventually(async () => (await db.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = ANY($1) AND active", [slots])).rowCount === 2, 30_000, "both slots read");
    for (const [i, id] of ["Orders", "orders"].entries()) expect(await owner("slot", slots[i]!)).toEqual({ cluster, stream: id });
  });
});
