/**
 * The MySQL/MariaDB connector's configuration: its source (the binlog) and its sink.
 * The descriptions are the documentation (docs/configuration.md is generated from them).
 */
import { z } from "zod";
import { connectionUrl } from "../../base/index.js";
import { sinkFields } from "../../core/index.js";

const mysqlUrl = connectionUrl({ schemes: ["mysql", "mariadb"], message: "must be a mysql:// or mariadb:// URL" })
  .describe("Connection URL, e.g. mysql://user:${MYSQL_PASSWORD}@host:3306/db");

/** MySQL/MariaDB source (the binlog, read with zongji). */
export const mysqlSourceSchema = z
  .object({
    type: z.literal("mysql").describe("Source type"),
    url: mysqlUrl,
    tables: z
      .array(z.string().regex(/^[^.\s]+\.[^.\s]+$/, "table must be written database.table"))
      .min(1)
      .describe("Tables to capture, as database.table; a table without a primary key only with keylessTables: insert-only"),
    snapshot: z.enum(["initial", "never"]).default("initial").describe("initial: copy existing rows first (consistent with the binlog position the stream starts at); never: changes only"),
    serverId: z
      .number()
      .int()
      .min(1)
      .max(4_294_967_295)
      .optional()
      .describe("Replication server id of the binlog connection, unique among the server's replicas and stable per stream. Default: a hash of the cluster name and stream id, in 1073741824-2147483647"),
    snapshotBatchRows: z.number().int().min(1).max(100_000).default(5000).describe("Rows read per batch during the snapshot"),
    keylessTables: z
      .enum(["refuse", "insert-only"])
      .default("refuse")
      .describe(
        "Tables without a primary key. refuse: the stream does not start (a target would collapse duplicate rows and could not apply updates and deletes by key). insert-only: every inserted (and snapshot) row becomes a new target row keyed by its source position in the extra column _tributary_pos; updates and deletes of such a table are not applied (counted in tributary_events_dropped_total{reason=\"keyless-insert-only\"})",
      ),
    queueMaxRows: z.number().int().min(100).max(1_000_000).default(10_000).describe("Binlog rows read but not yet published before the binlog connection is paused (bounded memory when JetStream is slow)"),
  })
  .strict()
  .describe("MySQL/MariaDB binlog (ROW format, full row images): an optional consistent snapshot, then every committed change of the listed tables");

/** MySQL/MariaDB sink (INSERT … ON DUPLICATE KEY UPDATE and deletes by key, one transaction per batch). */
export const mysqlSinkSchema = z
  .object({
    name: sinkFields.name,
    type: z.literal("mysql").describe("Sink type"),
    url: connectionUrl({
      schemes: ["mysql", "mariadb"],
      message: "must be a mysql:// or mariadb:// URL that names the target database, e.g. mysql://user:pass@host:3306/db",
      database: "must be a mysql:// or mariadb:// URL that names the target database, e.g. mysql://user:pass@host:3306/db",
    }).describe("Connection URL of the target database, e.g. mysql://user:${MYSQL_PASSWORD}@host:3306/db"),
    from: sinkFields.from,
    table: sinkFields.table("{table}").describe("Target table template with {schema} and {table} placeholders; without a '.' the table is in the URL's database"),
    autoCreate: z.boolean().default(false).describe("Create missing target tables and add missing columns from the source schema"),
    batchMaxRows: sinkFields.batchMaxRows,
    batchMaxWait: sinkFields.batchMaxWait,
  })
  .strict()
  .describe("Applies events to MySQL/MariaDB tables (INSERT … ON DUPLICATE KEY UPDATE and deletes by key); each batch commits in one transaction with the sink's checkpoint, so a replayed batch has no effect twice");

export type MysqlSourceSpec = z.output<typeof mysqlSourceSchema>;
