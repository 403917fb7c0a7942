/**
 * The MongoDB sink's configuration. The descriptions are the documentation
 * (docs/configuration.md is generated from them); bad URLs, templates and namespaces are
 * refused when the spec is read, each with its field path. A field that is one whole
 * `${…}` reference is checked on the node once resolved.
 */
import { z } from "zod";
import { checkableText } from "../../base/index.js";
import { sinkFields } from "../../core/index.js";
import { compileCollectionTemplate, parseNamespace } from "./sink-namespace.js";

/**
 * Why `url` is not a MongoDB connection string, or undefined. Checked by text (WHATWG URL
 * refuses multi-host URLs): the scheme, each `host[:port]`, and mongodb+srv's single host
 * without a port. The driver checks the options when it connects.
 */
export function mongoUrlProblem(url: string): string | undefined {
  const m = /^(mongodb|mongodb\+srv):\/\/(?:[^@/?#]*@)?([^/?#]*)(\/[^?#]*)?(\?[^#]*)?$/i.exec(url);
  if (!m) return "must be a mongodb:// or mongodb+srv:// connection string, e.g. mongodb://host1:27017,host2:27017/?replicaSet=rs0";
  const srv = (m[1] ?? "").toLowerCase() === "mongodb+srv";
  const hosts = (m[2] ?? "").split(",");
  if (hosts.some((h) => h.length === 0)) return "names no host (or an empty one between commas)";
  if (srv && hosts.length !== 1) return "a mongodb+srv:// URL names exactly one host (the SRV record)";
  for (const h of hosts) {
    const port = /^(?:\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(h)?.[1];
    if (port === undefined) continue;
    if (srv) return "a mongodb+srv:// URL cannot carry a port";
    if (!/^\d{1,5}$/.test(port)) return `the port "${port}" of host ${h.slice(0, h.lastIndexOf(":"))} is not a number`;
    if (Number(port) > 65535) return `the port ${port} is above 65535`;
  }
  const db = m[3]?.slice(1);
  if (db && /[/\\. "$]/.test(decodeURIComponent(db))) return `the database "${db}" in its path is not a valid database name`;
  return undefined;
}

/** zod type for a MongoDB connection string (`${VAR}` references allowed). */
const mongoUrl = z
  .string()
  .superRefine((text, ctx) => {
    const v = checkableText(text);
    if (v === null) return;
    const problem = mongoUrlProblem(v);
    if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
  })
  .describe("MongoDB connection string (mongodb:// or mongodb+srv://); put credentials in a reference, e.g. ${MONGO_URL}. A replica set (or mongos) gets transactions; a standalone server does not (see docs/adr/0009)");

/** zod refinement of a text with a check that throws (skipped for a whole `${…}` reference). */
const checked = (check: (text: string) => unknown) => (text: string, ctx: z.RefinementCtx) => {
  const t = checkableText(text);
  if (t === null) return;
  try {
    check(t);
  } catch (err) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: (err as Error).message });
  }
};

/** MongoDB sink (ordered bulk writes; offsets in the target, in the batch's transaction on a replica set). */
export const mongoSinkSchema = z
  .object({
    name: sinkFields.name,
    type: z.literal("mongodb").describe("Sink type"),
    url: mongoUrl,
    from: sinkFields.from,
    collection: z
      .string()
      .default("{schema}.{table}")
      .superRefine(checked(compileCollectionTemplate))
      .describe("Target namespace template \"<database>.<collection>\": {schema} (or {db}) is the event's schema (a MongoDB source's database), {table} (or {collection}) its table (collection); the first '.' separates the database"),
    offsets: z
      .string()
      .default("tributary.sink_offsets")
      .superRefine(checked(parseNamespace))
      .describe("\"<database>.<collection>\" holding one offset document per cluster, stream and sink (_id <cluster>.<stream>.<sink>)"),
    transactions: z
      .enum(["auto", "off"])
      .default("auto")
      .describe("auto: batch and offset in one transaction when the server is a replica set or mongos (asked with hello at start); off: never (offset written after each batch), for servers that report a replica set but cannot run a transaction across collections, such as Azure Cosmos DB for MongoDB (RU)"),
    batchMaxRows: sinkFields.batchMaxRows,
    batchMaxWait: sinkFields.batchMaxWait,
  })
  .strict()
  .describe(
    "Applies events to MongoDB collections: per batch one ordered bulkWrite per collection (replace by key with upsert, delete by key). On a replica set the batch and the sink's offset commit in one transaction (replays change nothing, a stale owner is refused); on a standalone server the offset is written after the batch with an epoch-checked update (at-least-once window of one batch, docs/adr/0009)",
  );

export type MongoSinkSpec = z.output<typeof mongoSinkSchema>;
