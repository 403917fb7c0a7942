/**
 * The MongoDB connector: a source (change streams, with a consistent and resumable initial
 * snapshot; also Azure Cosmos DB for MongoDB with `compat: cosmos`) and a sink (ordered
 * bulk writes, offsets in the target, transactions on a replica set). `mongodb` is its one
 * line in the registry.
 */
import { defineSink, defineSource } from "../../core/index.js";
import { mongoSinkSchema } from "./schema-sink.js";
import { checkSource, mongoSourceSchema } from "./schema-source.js";
import { MongoSink } from "./sink.js";
import { MongoSource } from "./source.js";

/** The connector's definition for the registry. */
export const mongodb = {
  type: "mongodb",
  source: defineSource(mongoSourceSchema, (spec, deps) => new MongoSource(spec, deps), checkSource),
  sink: defineSink(mongoSinkSchema, (spec, deps) => MongoSink.open(spec, deps)),
} as const;

// tests drive the adapters directly
export { MongoSource } from "./source.js";
export { COSMOS_STAGES } from "./change-stream.js";
export type { MongoPosition } from "./position.js";
export type { MongoChangeEvent } from "./event-builder.js";
export type { MongoSourceSpec } from "./schema-source.js";
export { encodeDoc, encodeValue, type Encoded, type EncodedDoc } from "./values-encode.js";
export { MongoSink } from "./sink.js";
export { MongoRowError } from "./sink-plan.js";
export { OffsetStore, type OffsetDoc } from "./sink-offsets.js";
export type { MongoSinkSpec } from "./schema-sink.js";
