/**
 * The PostgreSQL connector: a source (logical replication with pgoutput) and a sink
 * (upserts and deletes by key). `postgres` is its one line in the registry.
 */
import { defineSink, defineSource } from "../../core/index.js";
import { postgresExclusive } from "./names.js";
import { postgresRetention } from "./retention.js";
import { postgresSinkSchema, postgresSourceSchema } from "./schema.js";
import { PostgresSinkWriter } from "./sink-writer.js";
import { PostgresSource } from "./source.js";

/** The connector's definition for the registry. */
export const postgres = {
  type: "postgres",
  source: defineSource(postgresSourceSchema, (spec, deps) => new PostgresSource(spec, deps), undefined, postgresRetention, postgresExclusive),
  sink: defineSink(postgresSinkSchema, (spec, deps) => PostgresSinkWriter.open({ url: spec.url, table: spec.table, autoCreate: spec.autoCreate, sinkId: deps.sinkId, cluster: deps.cluster }, deps.log)),
} as const;

// the benchmark's decode ceiling measures the source's own decoding (bench/ceilings.ts)
export { SESSION_OPTIONS } from "./catalog.js";
export { keyOf, makeEvent, shapeOf, toRow } from "./event-builder.js";
export { encodeEventPos } from "./position.js";
export type { ColumnType } from "./type-map.js";
// tests drive the reader itself and compute a stream's default slot name (docs/adr/0010)
export { defaultSlotName, legacySlotName, readerNames } from "./names.js";
export { PostgresSource } from "./source.js";
export type { PgCheckpoint } from "./position.js";
