/**
 * The Azure Cosmos DB (NoSQL API) connector: a source (the change feed, pull model) and a
 * sink (bulk upserts and deletes), signed in with an account key or Microsoft Entra ID.
 * `cosmosdb` is its one line in the registry.
 */
import { defineSink, defineSource } from "../../core/index.js";
import { checkSink, checkSource, cosmosSinkSchema, cosmosSourceSchema } from "./schema.js";
import { CosmosSink } from "./sink.js";
import { CosmosSource } from "./source.js";

/** The connector's definition for the registry. */
export const cosmosdb = {
  type: "cosmosdb",
  source: defineSource(cosmosSourceSchema, (spec, deps) => new CosmosSource(spec, deps), checkSource),
  sink: defineSink(cosmosSinkSchema, (spec, deps) => CosmosSink.open(spec, deps), checkSink),
} as const;

// tests drive the adapters directly with an injected credential or agent (CosmosOverrides)
export { CosmosSource } from "./source.js";
export { CosmosSink } from "./sink.js";
export type { CosmosOverrides } from "./client.js";
export type { CosmosPosition } from "./position.js";
export type { CosmosChangeEvent } from "./event-builder.js";
export type { CosmosSinkSpec, CosmosSourceSpec } from "./schema.js";
