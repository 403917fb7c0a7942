/** A source and target database with the workload schema, and a node config for them. */
import { uniqueCluster, uniqueName } from "./names.js";
import { cleanupCluster, NATS_URL } from "./nats.js";
import { createDb, type TestDb } from "./postgres.js";
import { SCHEMA_SQL } from "./workload.js";

/** A PostgreSQL → PostgreSQL pipeline's databases, cluster and node config. */
export interface Pipeline {
  cluster: string;
  streamId: string;
  slot: string;
  src: TestDb;
  dst: TestDb;
  /** the config of node `nodeId` (NodeProc sets the admin address); `extra` replaces top-level keys */
  config(nodeId: string, extra?: Record<string, unknown>): Record<string, unknown>;
  cleanup(): Promise<void>;
}

/**
 * The node config of a pipeline's cluster with these streams: short leases and checkpoint
 * intervals so tests converge fast; `extra` replaces top-level keys.
 */
export function pipelineConfig(cluster: string, streams: unknown[]): Pipeline["config"] {
  return (nodeId, extra = {}) => ({
    cluster,
    nats: { servers: [NATS_URL] },
    node: { id: nodeId },
    leases: { ttl: "4s", nodeTtl: "3s" },
    checkpoint: { interval: "200ms", maxEvents: 2000 },
    log: { level: "info" },
    streams,
    ...extra,
  });
}

/**
 * Source and target databases with the workload schema, and a stream `shop` reading the
 * three tables into sinks `raw` (same tables) and `copy` (schema copy, through a JSONata
 * pass-through transformer).
 */
export async function createPipeline(prefix: string): Promise<Pipeline> {
  const src = await createDb(`${prefix}_src`);
  const dst = await createDb(`${prefix}_dst`);
  await src.query(SCHEMA_SQL);
  await dst.query(SCHEMA_SQL);
  const cluster = uniqueCluster(prefix.replace(/[^a-z0-9]/gi, "").slice(0, 6));
  const streamId = "shop";
  const slot = uniqueName("slot").slice(0, 60);
  return {
    cluster,
    streamId,
    slot,
    src,
    dst,
    config: pipelineConfig(cluster, [
      {
        id: streamId,
        source: { type: "postgres", url: src.url, tables: ["public.accounts", "public.items", "public.events"], snapshot: "initial", slot },
        transformers: [{ name: "pass", jsonata: "$" }],
        sinks: [
          { name: "raw", type: "postgres", url: dst.url, table: "{schema}.{table}", autoCreate: true, batchMaxRows: 500 },
          { name: "copy", type: "postgres", url: dst.url, table: "copy.{table}", autoCreate: true, from: "pass", batchMaxRows: 500 },
        ],
      },
    ]),
    async cleanup() {
      await src.drop();
      await dst.drop();
      await cleanupCluster(cluster);
    },
  };
}
