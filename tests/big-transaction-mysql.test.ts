// A 200,000-row MariaDB transaction streams through in bounded memory: zongji has no
// backpressure of its own, so the reader's bounded queue pauses the binlog socket while
// JetStream acks lag, and the node never holds the transaction whole. The node's resident
// memory is sampled while the transaction flows, under a V8 heap ceiling (160 MB) far below
// the transaction's size; /metrics says how often the reader paused the binlog socket, and
// the leases bucket that the node stopped gracefully.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { assertBuilt, cleanupCluster, createMyDb, eventually, leasesAndPosition, type MyTestDb, NATS_URL, NodeProc, sampleRss, startNodeProc, uniqueCluster } from "./support/index.js";

const ROWS = 200_000;
let src: MyTestDb;
let dst: MyTestDb;
let node: NodeProc;
const cluster = uniqueCluster("mybig");

beforeAll(async () => {
  assertBuilt();
  src = await createMyDb("mybig_src");
  dst = await createMyDb("mybig_dst");
  await src.query("CREATE TABLE wide (id BIGINT PRIMARY KEY, a TEXT, b TEXT, n DECIMAL(12,2), ts DATETIME(6))");
});
afterAll(async () => {
  await node?.kill9();
  await src?.drop();
  await dst?.drop();
  await cleanupCluster(cluster);
});

describe("large MariaDB transactions", () => {
  it(`streams a ${ROWS}-row transaction through the bounded binlog queue`, async () => {
    node = await startNodeProc({
      config: {
        cluster,
        nats: { servers: [NATS_URL] },
        node: { id: "mybig1" },
        log: { level: "info" },
        streams: [
          {
            id: "big",
            source: { type: "mysql", url: src.url, tables: [`${src.name}.wide`], queueMaxRows: 2000 },
            sinks: [{ name: "out", type: "mysql", url: dst.url, autoCreate: true, batchMaxRows: 5000 }],
          },
        ],
      },
      // a heap ceiling far below the transaction's size: holding it whole would crash the node
      env: { NODE_OPTIONS: "--max-old-space-size=160" },
    });
    await node.waitReady();
    const rss = sampleRss(node.pid);
    // ~300 bytes per row, all in ONE transaction (MariaDB's sequence engine generates the ids)
    await src.query(`INSERT INTO wide SELECT seq, REPEAT(MD5(seq), 4), REPEAT('x', 120), seq * 1.5, NOW(6) FROM seq_1_to_${ROWS}`);
    const t0 = Date.now();
    await eventually(async () => Number((await dst.query<Array<{ n: string }>>("SELECT COUNT(*) AS n FROM wide").catch(() => [{ n: "0" }]))[0]?.n) === ROWS, 300_000, `${ROWS} rows in the target`);
    rss.stop();
    const secs = (Date.now() - t0) / 1000;
    const check = await dst.query<Array<{ s: string; n: string }>>("SELECT CAST(SUM(id) AS CHAR) AS s, CAST(SUM(n) AS CHAR) AS n FROM wide");
    const want = await src.query<Array<{ s: string; n: string }>>("SELECT CAST(SUM(id) AS CHAR) AS s, CAST(SUM(n) AS CHAR) AS n FROM wide");
    expect(check[0]).toEqual(want[0]);
    const metrics = await (await fetch(`${node.adminUrl}/metrics`)).text();
    const pauses = Number(/^tributary_source_pauses_total\{stream="big"\} (\d+)$/m.exec(metrics)?.[1] ?? -1);
    // graceful stop: exit 0, every lease released (CAS delete), the reader's position kept
    expect(await node.term()).toBe(0);
    const { leases, position } = await leasesAndPosition<{ position: { file: string; pos: number } | null }>(cluster, "big");
    expect(leases).toEqual([]);
    expect(position?.position?.pos).toBeGreaterThan(4);
    console.log(`MariaDB big transaction: ${ROWS} rows in ${secs.toFixed(1)} s; node RSS ${rss.base.toFixed(0)} MB before, peak ${rss.peak.toFixed(0)} MB (heap limit 160 MB); binlog socket paused ${pauses} times`);
    expect(pauses).toBeGreaterThan(0); // the queue held the binlog back while JetStream acks lagged
    // the JSON of the whole transaction alone is ~130 MB
    expect(rss.peak - rss.base).toBeLessThan(300);
  }, 400_000);
});
