/**
 * The MongoDB connector: a source (change streams, with a consistent and resumable initial
 * snapshot; also Azure Cosmos DB for MongoDB with `compat: cosmos`). `mongodb` is its one
 * line in the registry.
 */
import { defineSource } from "../../core/index.js";
import { checkSource, mongoSourceSchema } from "./schema-source.js";
import { MongoSource } from "./source.js";

/** The connector's definition for the registry. */
export const mongodb = {
  type: "mongodb",
  source: defineSource(mongoSourceSchema, (spec, deps) => new MongoSource(spec, deps), checkSource),
} as const;

// tests drive the adapter directly
export { MongoSource } from "./source.js";
export { COSMOS_STAGES } from "./change-stream.js";
export type { MongoPosition } from "./position.js";
export type { MongoChangeEvent } from "./event-builder.js";
export type { MongoSourceSpec } from "./schema-source.js";
export { encodeDoc, encodeValue, type Encoded, type EncodedDoc } from "./values-encode.js";
