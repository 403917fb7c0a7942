/**
 * MySQL pipelines for integration tests: databases with the mixed workload's schema on
 * MariaDB and PostgreSQL, a unique cluster, and node configs for either direction.
 * - `mariadb-to-pg`: MariaDB source; sinks `raw` (PostgreSQL, public.{table}) and `copy`
 *   (MariaDB, another database, through a JSONata pass-through, autoCreate).
 * - `pg-to-mariadb`: PostgreSQL source; sink `raw` (MariaDB, {table}).
 */
import { createMyDb, type MyTestDb } from "./mariadb.js";
import { schemaSql, type WorkloadTarget } from "./mysql-workload.js";
import { uniqueCluster, uniqueName } from "./names.js";
import { cleanupCluster } from "./nats.js";
import { pipelineConfig } from "./pipeline.js";
import { createDb, type TestDb } from "./postgres.js";

/** A pipeline between MariaDB and PostgreSQL: databases, cluster and node config. */
export interface MyPipeline {
  cluster: string;
  streamId: string;
  my: MyTestDb;
  /** second MariaDB database: the `copy` sink's target (mariadb-to-pg only) */
  myCopy: MyTestDb | undefined;
  pg: TestDb;
  /** where the workload runs, and where the `raw` sink writes */
  source: WorkloadTarget;
  target: WorkloadTarget;
  /** the config of node `nodeId` (NodeProc sets the admin address); `extra` replaces top-level keys */
  config(nodeId: string, extra?: Record<string, unknown>): Record<string, unknown>;
  cleanup(): Promise<void>;
}

/** Creates the databases and schemas of a MySQL pipeline in one direction (see the module comment). */
export async function createMyPipeline(prefix: string, direction: "mariadb-to-pg" | "pg-to-mariadb"): Promise<MyPipeline> {
  const my = await createMyDb(`${prefix}_my`);
  const pg = await createDb(`${prefix}_pg`);
  for (const sql of schemaSql("mysql")) await my.query(sql);
  for (const sql of schemaSql("pg")) await pg.query(sql);
  const myCopy = direction === "mariadb-to-pg" ? await createMyDb(`${prefix}_cp`) : undefined;
  const cluster = uniqueCluster(prefix.replace(/[^a-z0-9]/gi, "").slice(0, 6));
  const streamId = "shop";
  const slot = uniqueName("slot").slice(0, 60);
  const tables = ["accounts", "items", "events"];
  const stream =
    direction === "mariadb-to-pg"
      ? {
          id: streamId,
          source: { type: "mysql", url: my.url, tables: tables.map((t) => `${my.name}.${t}`), snapshot: "initial", snapshotBatchRows: 500, queueMaxRows: 2000 },
          transformers: [{ name: "pass", jsonata: "$" }],
          sinks: [
            { name: "raw", type: "postgres", url: pg.url, table: "public.{table}", autoCreate: true, batchMaxRows: 500 },
            { name: "copy", type: "mysql", url: myCopy!.url, table: "{table}", autoCreate: true, from: "pass", batchMaxRows: 500 },
          ],
        }
      : {
          id: streamId,
          source: { type: "postgres", url: pg.url, tables: tables.map((t) => `public.${t}`), snapshot: "initial", slot },
          sinks: [{ name: "raw", type: "mysql", url: my.url, table: "{table}", autoCreate: true, batchMaxRows: 500 }],
        };
  return {
    cluster,
    streamId,
    my,
    myCopy,
    pg,
    source: direction === "mariadb-to-pg" ? { dialect: "mysql", db: my } : { dialect: "pg", db: pg },
    target: direction === "mariadb-to-pg" ? { dialect: "pg", db: pg } : { dialect: "mysql", db: my },
    config: pipelineConfig(cluster, [stream]),
    async cleanup() {
      await my.drop();
      await myCopy?.drop();
      await pg.drop();
      await cleanupCluster(cluster);
    },
  };
}
