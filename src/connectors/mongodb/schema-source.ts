/**
 * The MongoDB source's configuration (change streams, with an optional consistent snapshot).
 * The descriptions are the documentation (docs/configuration.md is generated from them);
 * `checkSource` refuses the combinations of fields the object schema cannot see, each with
 * its field path.
 */
import { z } from "zod";
import { connectionUrl, duration } from "../../base/index.js";
import type { SpecIssue } from "../../core/index.js";

/** A MongoDB connection string (`${VAR}` references are resolved on the node, ADR 0013). */
export const mongoUrl = connectionUrl({ schemes: ["mongodb", "mongodb+srv"], message: "must be a mongodb:// or mongodb+srv:// connection string" })
  .describe("Connection string, e.g. mongodb://reader:${MONGO_PASSWORD}@host:27017/?replicaSet=rs0 (change streams need a replica set or a sharded cluster)");

/** `db.coll` or `db.*`: a database name without `.`, `$`, `/`, `\`, spaces or quotes; a collection name not starting with `system.` or containing `$`. */
const NAMESPACE = /^[^./\\\s"$*]+\.(\*|[^$\s]+)$/;

/** MongoDB source (change streams through the official driver). */
export const mongoSourceSchema = z
  .object({
    type: z.literal("mongodb").describe("Source type"),
    url: mongoUrl,
    collections: z
      .array(z.string().regex(NAMESPACE, 'collection must be written "db.collection" or "db.*" (every collection of the database)'))
      .min(1)
      .describe("Collections to capture, as db.collection or db.* (every collection of db, also ones created later); events go to cdc.<stream>.<db>.<collection>"),
    snapshot: z.enum(["initial", "never"]).default("initial").describe("initial: copy existing documents first (in _id order, consistent with the change stream, resumable after a crash); never: changes only"),
    fullDocument: z
      .enum(["updateLookup", "whenAvailable", "required"])
      .default("updateLookup")
      .describe("The `after` image of an update: updateLookup (the document as it is when the change is read), whenAvailable / required (the post-image stored with the change; needs changeStreamPreAndPostImages on the collection, MongoDB 6.0+)"),
    preImages: z
      .enum(["off", "whenAvailable", "required"])
      .default("off")
      .describe("The `before` image of updates and deletes: off (only the key), whenAvailable or required (the pre-image; needs changeStreamPreAndPostImages on the collection, MongoDB 6.0+)"),
    compat: z
      .enum(["mongodb", "cosmos"])
      .default("mongodb")
      .describe("mongodb: a MongoDB replica set or sharded cluster; cosmos: Azure Cosmos DB for MongoDB (RU), whose change streams deliver inserts and updates only (deletes are NOT delivered) as op u"),
    snapshotBatchSize: z.number().int().min(1).max(100_000).default(1000).describe("Documents read per find/getMore round trip during the snapshot (one checkpointable batch)"),
    batchSize: z.number().int().min(1).max(100_000).default(1000).describe("Most change events per batch (and per getMore) while streaming"),
    maxAwaitTime: duration("1s").describe("How long the server holds a getMore of an idle change stream before answering (an idle stream's position advances at least this often)"),
  })
  .strict()
  .describe("MongoDB change streams: an optional consistent snapshot, then every change of the listed collections; the position is the change stream's resume token (docs/adr/0009)");

export type MongoSourceSpec = z.output<typeof mongoSourceSchema>;

/** Cross-field checks of a source spec (run by the config's validation). */
export function checkSource(spec: MongoSourceSpec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const seen = new Set<string>();
  const wholeDbs = new Set(spec.collections.filter((ns) => ns.endsWith(".*")).map((ns) => splitNamespace(ns)[0]));
  spec.collections.forEach((ns, i) => {
    if (seen.has(ns)) issues.push({ path: ["collections", i], message: `collection "${ns}" is listed twice` });
    seen.add(ns);
    const [db, coll] = splitNamespace(ns);
    if (coll !== "*" && wholeDbs.has(db)) issues.push({ path: ["collections", i], message: `"${ns}" is already captured by "${db}.*"` });
    if (coll.startsWith("system.")) issues.push({ path: ["collections", i], message: `system collections (${ns}) have no change stream` });
  });
  if (spec.compat === "cosmos") {
    if (spec.preImages !== "off") issues.push({ path: ["preImages"], message: "Azure Cosmos DB for MongoDB has no pre-images: use preImages: off with compat: cosmos" });
    if (spec.fullDocument !== "updateLookup") issues.push({ path: ["fullDocument"], message: "Azure Cosmos DB for MongoDB requires fullDocument: updateLookup" });
    const dbs = new Set(spec.collections.map((ns) => splitNamespace(ns)[0]));
    if (dbs.size > 1) issues.push({ path: ["collections"], message: "with compat: cosmos every collection must be in one database (Cosmos DB has no cluster-wide change stream)" });
  }
  return issues;
}

/** "db.a.b" → ["db", "a.b"] (a database name has no dot; a collection name may). */
export function splitNamespace(ns: string): [string, string] {
  const i = ns.indexOf(".");
  return [ns.slice(0, i), ns.slice(i + 1)];
}
