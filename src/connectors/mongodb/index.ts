/**
 * The MongoDB connector: a sink (ordered bulk writes, offsets in the target, transactions
 * on a replica set). `mongodb` is its one line in the registry.
 */
import { defineSink } from "../../core/index.js";
import { mongoSinkSchema } from "./schema-sink.js";
import { MongoSink } from "./sink.js";

/** The connector's definition for the registry. */
export const mongodb = {
  type: "mongodb",
  sink: defineSink(mongoSinkSchema, (spec, deps) => MongoSink.open(spec, deps)),
} as const;

// tests drive the adapter directly
export { MongoSink } from "./sink.js";
export { MongoRowError } from "./sink-plan.js";
export { OffsetStore, type OffsetDoc } from "./sink-offsets.js";
export type { MongoSinkSpec } from "./schema-sink.js";
