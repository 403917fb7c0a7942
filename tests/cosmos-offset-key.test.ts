// The Cosmos DB sink's offset document is one sink's of one cluster (issue 10, item 2;
// docs/adr/0010): two clusters with the same stream and sink names into one account keep two
// documents and both deliver; a document under the sink's id that names another cluster or
// sink is refused (SINK_INVALID) instead of being used as this sink's offset.
import { afterEach, describe, expect, it } from "vitest";
import { pino } from "pino";
import { TributaryError } from "../src/base/index.js";
import { CosmosSink, type CosmosSinkSpec } from "../src/connectors/cosmosdb/index.js";
import { sinkBatch, type SinkRecord } from "../src/core/index.js";
import { Metrics } from "../src/metrics/index.js";
import { cosmosRig, type CosmosRig } from "./support/index.js";

let rig: CosmosRig | undefined;
const sinks: CosmosSink[] = [];
afterEach(async () => {
  for (const s of sinks.splice(0)) await s.close();
  await rig?.stop();
  rig = undefined;
});

async function open(r: CosmosRig, cluster: string): Promise<CosmosSink> {
  const spec: CosmosSinkSpec = {
    name: "cos", type: "cosmosdb", endpoint: r.fake.endpoint, database: r.db, container: "{table}", partitionKey: "/id",
    auth: { key: r.fake.masterKey }, autoCreate: true, offsetsContainer: "tributary_offsets", batchMaxRows: 2000, batchMaxWait: 100,
  };
  const s = await CosmosSink.open(spec, { sinkId: "orders.cos", cluster, log: pino({ level: "silent" }), metrics: new Metrics() });
  sinks.push(s);
  return s;
}
/** Inserts of ids `from`..`to` into `table`, with sequences 1… (each cluster's JetStream stream starts at 1). */
const inserts = (table: string, from: number, to: number): SinkRecord[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({
    seq: i + 1,
    event: { op: "c", key: { id: from + i }, after: { id: String(from + i) }, before: null, ts_ms: 0, source: { connector: "postgres", stream: "orders", db: "src", schema: "public", table, pos: String(i), txId: null, ts_ms: 0, snapshot: false } },
  }));

describe("Cosmos DB sink offsets of two clusters", () => {
  it("the same stream and sink names in two clusters both deliver everything (100 + 1 documents)", async () => {
    rig = await cosmosRig();
    const blue = await open(rig, "blue");
    const green = await open(rig, "green");
    const a = inserts("a", 1, 100);
    await blue.apply(sinkBatch(a, (x) => blue.target(x)), { seq: 100, epoch: 8046 });
    const b = inserts("b", 1, 1);
    await green.apply(sinkBatch(b, (x) => green.target(x)), { seq: 1, epoch: 876 });
    expect(rig.fake.documents(rig.db, "a")).toHaveLength(100);
    expect(rig.fake.documents(rig.db, "b")).toHaveLength(1);
    expect(await blue.readOffset()).toEqual({ seq: 100, epoch: 8046 });
    expect(await green.readOffset()).toEqual({ seq: 1, epoch: 876 });
  });

  it("refuses an offset document that names another cluster or sink", async () => {
    rig = await cosmosRig();
    const s = await open(rig, "blue");
    await rig.admin.database(rig.db).container("tributary_offsets").items.upsert({ id: "blue.orders.cos", cluster: "green", sink: "orders.cos", seq: 500, epoch: 9 });
    const err = await s.readOffset().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(TributaryError);
    expect((err as TributaryError).code).toBe("SINK_INVALID");
    expect((err as Error).message).toContain("offset document blue.orders.cos belongs to sink orders.cos of cluster green");
  });
});
