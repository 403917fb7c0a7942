// End to end on the real services, both directions:
// - MariaDB -> stream actor (binlog) -> JetStream -> PostgreSQL sink, and through a JSONata
//   transformer -> MariaDB sink (autoCreate) in another database;
// - PostgreSQL -> JetStream -> MariaDB sink.
// Pre-existing rows (snapshot), 10,000 mixed changes with every type the MySQL issue names,
// a column added mid-stream (MariaDB source), then source and targets compared value by value.
import { describe, it, expect, afterEach } from "vitest";
import { assertBuilt, converged, createMyPipeline, diffWorkload, leasesAndPosition, MixedWorkload, type MyPipeline, NodeProc, startNodeProc } from "./support/index.js";

const OPS = Number(process.env.MYSQL_E2E_OPS ?? 10_000);
let p: MyPipeline | undefined;
let node: NodeProc | undefined;

afterEach(async () => {
  await node?.kill9();
  await p?.cleanup();
  node = undefined;
  p = undefined;
});

describe("MariaDB <-> PostgreSQL end to end", () => {
  it(`MariaDB -> PostgreSQL (and -> MariaDB through a transformer): pre-existing rows and ${OPS} mixed changes, value by value`, async () => {
    assertBuilt();
    p = await createMyPipeline("mye2e", "mariadb-to-pg");
    const w = new MixedWorkload(p.source, 11);
    await w.seed(300);
    const t0 = Date.now();
    node = await startNodeProc({ config: p!.config("n1") });
    await node.waitReady();
    await w.run(OPS / 2);
    // a schema change mid-stream: the binlog's table map names the new column
    await p.my.query("ALTER TABLE items ADD COLUMN color VARCHAR(20) CHARACTER SET utf8mb4 NULL");
    await p.my.query("UPDATE items SET color = 'blue 🔵' WHERE id % 3 = 0");
    await w.run(OPS / 2);
    expect(w.ops).toBeGreaterThanOrEqual(OPS);

    const raw = await converged(() => diffWorkload(p!.source, p!.target, "", { items: ["color"] }), 180_000);
    expect(raw).toBeNull();
    const copy = await converged(() => diffWorkload(p!.source, { dialect: "mysql", db: p!.myCopy! }, "", { items: ["color"] }), 120_000);
    expect(copy).toBeNull();
    console.log(`MariaDB -> PostgreSQL/MariaDB: ${w.ops} changes + 900 pre-existing rows converged ${((Date.now() - t0) / 1000).toFixed(1)} s after start`);
    const blue = await p.pg.query<{ n: number }>("SELECT count(*)::int AS n FROM items WHERE color = 'blue 🔵'");
    expect(blue.rows[0]?.n).toBeGreaterThan(0);

    const actors = await node.json<{ actors: Array<{ id: string; state: string; position: { file?: string; gtid?: string } | null }> }>("/v1/actors");
    expect(actors.actors.map((a) => a.id).sort()).toEqual(["sink.shop.copy", "sink.shop.raw", "stream.shop", "transformer.shop.pass"]);
    for (const a of actors.actors) expect(a.state).toBe("running.active.running");

    // graceful stop: exit 0, leases released, the position is a binlog file:pos with its GTID
    expect(await node.term()).toBe(0);
    const { leases, position: pos } = await leasesAndPosition<{ position: { file: string; pos: number; gtid?: string; snapshotDone: boolean; serverId: number } }>(p.cluster, "shop");
    expect(leases).toEqual([]);
    expect(pos?.position.snapshotDone).toBe(true);
    expect(pos?.position.file).toMatch(/\.\d+$/);
    expect(pos?.position.pos).toBeGreaterThan(4);
    expect(pos?.position.gtid).toMatch(/^\d+-\d+-\d+/);
    expect(pos?.position.serverId).toBeGreaterThanOrEqual(1_073_741_824);
  }, 600_000);

  it(`PostgreSQL -> MariaDB: pre-existing rows and ${OPS} mixed changes, value by value`, async () => {
    assertBuilt();
    p = await createMyPipeline("pgmy", "pg-to-mariadb");
    const w = new MixedWorkload(p.source, 12);
    await w.seed(300);
    const t0 = Date.now();
    node = await startNodeProc({ config: p!.config("n1") });
    await node.waitReady();
    await w.run(OPS);
    expect(w.ops).toBeGreaterThanOrEqual(OPS);
    const diff = await converged(() => diffWorkload(p!.source, p!.target), 180_000);
    expect(diff).toBeNull();
    console.log(`PostgreSQL -> MariaDB: ${w.ops} changes + 900 pre-existing rows converged ${((Date.now() - t0) / 1000).toFixed(1)} s after start`);
    // the sink's checkpoint lives in the target, next to the data
    const off = await p.my.query<Array<{ sink_id: string; seq: string; epoch: string }>>("SELECT sink_id, seq, epoch FROM tributary_sink_offsets");
    expect(off.map((r) => r.sink_id)).toEqual([`${p.cluster}.shop.raw`]); // keyed by cluster, stream and sink (docs/adr/0010)
    expect(Number(off[0]!.seq)).toBeGreaterThan(OPS);
    expect(await node.term()).toBe(0);
  }, 600_000);
});
