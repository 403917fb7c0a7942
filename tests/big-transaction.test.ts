// A 200,000-row transaction streams through in bounded memory: the reader publishes each
// change as it is decoded (JetStream acks pace the replication socket), never holding the
// transaction whole. The node's resident memory is sampled while the transaction flows.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { assertBuilt, cleanupCluster, createDb, eventually, NATS_URL, NodeProc, sampleRss, startNodeProc, type TestDb, uniqueCluster, uniqueName } from "./support/index.js";

const ROWS = 200_000;
let src: TestDb;
let dst: TestDb;
let node: NodeProc;
const cluster = uniqueCluster("big");

beforeAll(async () => {
  assertBuilt();
  src = await createDb("big_src");
  dst = await createDb("big_dst");
  await src.query("CREATE TABLE wide (id bigint primary key, a text, b text, n numeric(12,2), ts timestamptz)");
});
afterAll(async () => {
  await node?.kill9();
  await src?.drop();
  await dst?.drop();
  await cleanupCluster(cluster);
});

describe("large transactions", () => {
  it(`streams a ${ROWS}-row transaction with bounded memory`, async () => {
    node = await startNodeProc({
      config: {
        cluster,
        nats: { servers: [NATS_URL] },
        node: { id: "big1" },
        log: { level: "warn" },
        streams: [
          {
            id: "big",
            source: { type: "postgres", url: src.url, tables: ["public.wide"], slot: uniqueName("big").slice(0, 60) },
            sinks: [{ name: "out", type: "postgres", url: dst.url, autoCreate: true, batchMaxRows: 5000 }],
          },
        ],
      },
      env: { NODE_OPTIONS: process.env.BIG_NODE_OPTIONS ?? "" },
    });
    await node.waitReady();
    const rss = sampleRss(node.pid);
    // ~300 bytes per row, all in ONE transaction
    await src.query(`INSERT INTO wide SELECT g, repeat(md5(g::text), 4), repeat('x', 120), g * 1.5, now() FROM generate_series(1, ${ROWS}) g`);
    const t0 = Date.now();
    await eventually(async () => {
      const r = await dst.query<{ n: number }>("SELECT count(*)::int AS n FROM public.wide").catch(() => ({ rows: [{ n: 0 }] }));
      return r.rows[0]?.n === ROWS;
    }, 240_000, `${ROWS} rows in the target`);
    rss.stop();
    const secs = (Date.now() - t0) / 1000;
    console.log(`big transaction: ${ROWS} rows in ${secs.toFixed(1)} s; node RSS ${rss.base.toFixed(0)} MB before, peak ${rss.peak.toFixed(0)} MB`);
    // JSON of the whole transaction alone is ~130 MB; holding it plus its objects would be far above this
    expect(rss.peak - rss.base).toBeLessThan(300); // measured +179 MB; a leak of the stream measured +1,040 MB
    const check = await dst.query("SELECT sum(id)::text AS s, sum(n)::text AS n FROM public.wide");
    const want = await src.query("SELECT sum(id)::text AS s, sum(n)::text AS n FROM public.wide");
    expect(check.rows[0]).toEqual(want.rows[0]);
  });
});
