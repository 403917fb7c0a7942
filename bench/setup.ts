/**
 * One scenario's throw-away world: source and target databases with the benchmark table,
 * the publication, a unique cluster name and slot, and the node config of a stream that
 * reads the table (with, optionally, the stamping transformer and a PostgreSQL sink).
 * `cleanup` drops all of it, so every run starts from the same empty state.
 */
import { cleanupCluster, createDb, uniqueCluster, uniqueName, type TestDb } from "../tests/support/index.js";
import { SOURCE_DDL, SOURCE_TABLE, TARGET_DDL, TRANSFORMERS } from "./workload.js";
import type { BenchOptions } from "./options.js";

export const STREAM_ID = "bench";
export const PUBLICATION = "bench_pub";
export const SINK_ID = `${STREAM_ID}.pg`;
export const TRANSFORMER_NAME = "xf";

export interface World {
  cluster: string;
  slot: string;
  src: TestDb;
  dst: TestDb | null;
  /** node config for this world's stream */
  config: Record<string, unknown>;
  cleanup(): Promise<void>;
}

/**
 * Extra flags for the benchmarked node processes, from BENCH_NODE_ARGS (experiments such as
 * --trace-gc; what the node prints goes to node.log in its directory).
 */
export function benchNodeFlags(): string[] {
  return (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean);
}

/** Config fields every benchmarked node shares: defaults unless a field is the scenario's point. */
export function baseConfig(o: BenchOptions, cluster: string, streams: unknown[]): Record<string, unknown> {
  return {
    cluster,
    nats: { servers: [o.natsUrl] },
    node: { id: `${cluster}-n1` },
    log: { level: o.nodeLogLevel },
    ...(o.transformThreads === undefined ? {} : { transform: { threads: o.transformThreads } }),
    streams,
  };
}

/** Creates the databases, tables and publication; `pipeline` adds the transformer and the sink. */
export async function createWorld(o: BenchOptions, pipeline: boolean): Promise<World> {
  const src = await createDb("bench_src", o.pgBase);
  let dst: TestDb | null = null;
  try {
    await src.client.query(SOURCE_DDL);
    await src.client.query(`CREATE PUBLICATION ${PUBLICATION} FOR TABLE ${SOURCE_TABLE}`);
    if (pipeline) {
      dst = await createDb("bench_dst", o.pgBase);
      await dst.client.query(TARGET_DDL);
    }
  } catch (err) {
    await src.drop();
    await dst?.drop();
    throw err;
  }
  const cluster = uniqueCluster("bench");
  const slot = uniqueName("bench_slot").slice(0, 63);
  const stream = {
    id: STREAM_ID,
    source: { type: "postgres", url: src.url, tables: [SOURCE_TABLE], snapshot: "never", slot, publication: PUBLICATION },
    ...(pipeline && dst
      ? {
          transformers: [{ name: TRANSFORMER_NAME, jsonata: TRANSFORMERS[o.transformer]! }],
          sinks: [{ name: "pg", type: "postgres", url: dst.url, table: SOURCE_TABLE, from: TRANSFORMER_NAME }],
        }
      : {}),
  };
  return {
    cluster,
    slot,
    src,
    dst,
    config: baseConfig(o, cluster, [stream]),
    async cleanup() {
      await src.drop();
      await dst?.drop();
      await cleanupCluster(cluster, o.natsUrl).catch(() => undefined);
    },
  };
}
