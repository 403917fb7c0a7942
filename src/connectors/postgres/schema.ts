/**
 * The PostgreSQL connector's configuration: its source (logical replication) and its sink.
 * The descriptions are the documentation (docs/configuration.md is generated from them).
 */
import { z } from "zod";
import { connectionUrl } from "../../base/index.js";
import { sinkFields } from "../../core/index.js";

const postgresUrl = connectionUrl({ schemes: ["postgres", "postgresql"], message: "must be a postgres:// or postgresql:// URL" })
  .describe("Connection URL, e.g. postgres://user:${PGPASSWORD}@host:5432/db");

/** PostgreSQL source (logical replication with pgoutput). */
export const postgresSourceSchema = z
  .object({
    type: z.literal("postgres").describe("Source type"),
    url: postgresUrl,
    tables: z
      .array(z.string().regex(/^[^.\s]+\.[^.\s]+$/, "table must be written schema.table"))
      .min(1)
      .describe("Tables to capture, as schema.table"),
    snapshot: z.enum(["initial", "never"]).default("initial").describe("initial: copy existing rows first (consistent with the stream); never: changes only"),
    slot: z
      .string()
      .regex(/^[a-z0-9_]{1,63}$/)
      .optional()
      .describe("Replication slot name, the stream's own in its cluster (validate, apply and the API refuse one another stream uses). Default: tributary_<stream id, lower-cased>_<hash of the cluster and stream id>; a stream keeps the slot its position names"),
    publication: z.string().regex(/^[a-z0-9_]{1,63}$/).optional().describe("Publication name, the stream's own in its cluster. Default: same as the slot"),
    keylessTables: z
      .enum(["refuse", "insert-only"])
      .default("refuse")
      .describe(
        "Tables without a primary key (they need REPLICA IDENTITY FULL). refuse: the stream does not start (a target would collapse duplicate rows and could not apply updates and deletes by key). insert-only: every inserted (and snapshot) row becomes a new target row keyed by its source position in the extra column _tributary_pos; updates and deletes of such a table are not applied (counted in tributary_events_dropped_total{reason=\"keyless-insert-only\"})",
      ),
    snapshotBatchRows: z.number().int().min(1).max(100_000).default(5000).describe("Rows fetched per cursor round-trip during the snapshot"),
  })
  .strict()
  .describe("PostgreSQL logical replication (pgoutput): an optional consistent snapshot, then every committed change of the listed tables");

/** PostgreSQL sink (upserts and deletes by key, one transaction per batch). */
export const postgresSinkSchema = z
  .object({
    name: sinkFields.name,
    type: z.literal("postgres").describe("Sink type"),
    url: postgresUrl,
    from: sinkFields.from,
    table: sinkFields.table("{schema}.{table}").describe("Target table template with {schema} and {table} placeholders"),
    autoCreate: z.boolean().default(false).describe("Create missing target tables and add missing columns from the source schema"),
    batchMaxRows: sinkFields.batchMaxRows,
    batchMaxWait: sinkFields.batchMaxWait,
  })
  .strict()
  .describe("Applies events to PostgreSQL tables (upserts and deletes by key); each batch commits in one transaction with the sink's checkpoint, so a replayed batch has no effect twice");

export type PostgresSourceSpec = z.output<typeof postgresSourceSchema>;
