// An interrupted snapshot must not leave ghost rows: rows the first attempt published and
// that are deleted before the retry must be deleted downstream too. The retry keeps the
// first attempt's consistent point, so streaming replays those deletes.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { jetstreamManager } from "@nats-io/jetstream";
import { assertBuilt, cleanupCluster, converged, createDb, diffTables, eventually, NATS_URL, natsConnect, NodeProc, type TestDb, uniqueCluster, uniqueName } from "./support/index.js";

const ROWS = 150_000;
const cluster = uniqueCluster("snap");
let src: TestDb;
let dst: TestDb;
let node: NodeProc;

beforeAll(async () => {
  assertBuilt();
  src = await createDb("snap_src");
  dst = await createDb("snap_dst");
  await src.query(`CREATE TABLE big (id int primary key, v text); INSERT INTO big SELECT g, repeat('x', 200) FROM generate_series(1, ${ROWS}) g`);
});
afterAll(async () => {
  await node?.kill9();
  await src?.drop();
  await dst?.drop();
  await cleanupCluster(cluster);
});

describe("snapshot interrupted by kill -9", () => {
  it("resumes without ghost rows: deletes made between the attempts reach the target", async () => {
    node = await NodeProc.create({
      config: {
        cluster,
        nats: { servers: [NATS_URL] },
        node: { id: "s1" },
        leases: { ttl: "3s" },
        log: { level: "info" },
        streams: [
          {
            id: "snap",
            source: { type: "postgres", url: src.url, tables: ["public.big"], slot: uniqueName("snap").slice(0, 50), snapshotBatchRows: 500 },
            sinks: [{ name: "out", type: "postgres", url: dst.url, autoCreate: true }],
          },
        ],
      },
    });
    node.start();
    const nc = await natsConnect();
    try {
      const jsm = await jetstreamManager(nc);
      // kill it while the snapshot is part-way
      const published = await eventually(async () => {
        const i = await jsm.streams.info(`${cluster}_CDC_snap`).catch(() => null);
        return i && i.state.messages >= 3000 ? i.state.messages : null;
      }, 60_000, "snapshot under way");
      await node.kill9();
      expect(published).toBeLessThan(ROWS);
    } finally {
      await nc.close();
    }
    // rows the first attempt already published disappear or change before the retry
    await src.query("DELETE FROM big WHERE id <= 1000");
    await src.query("UPDATE big SET v = 'changed' WHERE id BETWEEN 1001 AND 1100");
    node.start();
    await src.query("DELETE FROM big WHERE id BETWEEN 1101 AND 1200"); // and while it retries
    expect(await converged(() => diffTables(src, dst, "public.big", "id"), 180_000)).toBeNull();
    const ghosts = await dst.query<{ n: number }>("SELECT count(*)::int AS n FROM public.big WHERE id <= 1000 OR id BETWEEN 1101 AND 1200");
    expect(ghosts.rows[0]?.n).toBe(0);
  });
});
