/**
 * The change stream the source reads: its scope (one collection, one database, or the whole
 * cluster with a `$match` on the namespace), its pipeline (under `compat: cosmos` exactly the
 * one Azure Cosmos DB for MongoDB RU accepts), how it opens at a resume point, how the start
 * point of a fresh stream is taken without consuming anything, and the driver's errors
 * translated into TributaryErrors naming the stream and the way out.
 */
import { BSON, MongoClient, type ChangeStream, type ChangeStreamOptions, type Document } from "mongodb";
import { TributaryError, redactUrl } from "../../base/index.js";
import type { JsonValue } from "../../events/index.js";
import type { ResumePoint } from "./position.js";
import { splitNamespace, type MongoSourceSpec } from "./schema-source.js";

/** The Cosmos DB for MongoDB (RU) change stream stages: inserts and updates only, the four fields it can project. */
export const COSMOS_STAGES: readonly Document[] = [
  { $match: { operationType: { $in: ["insert", "update", "replace"] } } },
  { $project: { _id: 1, fullDocument: 1, ns: 1, documentKey: 1 } },
];

/** What is watched: one collection, one database or the cluster, and the user stages after `$changeStream`. */
export interface WatchPlan {
  scope: { kind: "collection"; db: string; coll: string } | { kind: "database"; db: string } | { kind: "cluster" };
  pipeline: Document[];
}

/** The narrowest scope covering `spec.collections`, with a `$match` on the namespace when the scope is wider than the list. */
export function watchPlan(spec: Pick<MongoSourceSpec, "collections" | "compat">): WatchPlan {
  const byDb = new Map<string, Set<string>>();
  for (const ns of spec.collections) {
    const [db, coll] = splitNamespace(ns);
    if (!byDb.has(db)) byDb.set(db, new Set());
    byDb.get(db)!.add(coll);
  }
  const nsMatch = (db: string, colls: Set<string>): Document => (colls.has("*") ? { "ns.db": db } : { "ns.db": db, "ns.coll": { $in: [...colls].sort() } });
  if (spec.compat === "cosmos") {
    // one database (checkSource): a collection scope, or the database with the collections in the same $match
    const [db, colls] = [...byDb][0]!;
    if (colls.size === 1 && !colls.has("*")) return { scope: { kind: "collection", db, coll: [...colls][0]! }, pipeline: [...COSMOS_STAGES] };
    const match = { ...(COSMOS_STAGES[0]!.$match as Document), ...(colls.has("*") ? {} : { "ns.coll": { $in: [...colls].sort() } }) };
    return { scope: { kind: "database", db }, pipeline: [{ $match: match }, COSMOS_STAGES[1]!] };
  }
  if (byDb.size === 1) {
    const [db, colls] = [...byDb][0]!;
    if (colls.size === 1 && !colls.has("*")) return { scope: { kind: "collection", db, coll: [...colls][0]! }, pipeline: [] };
    if (colls.has("*")) return { scope: { kind: "database", db }, pipeline: [] };
    // events without ns.coll (dropDatabase, invalidate) must pass: they end the stream
    return { scope: { kind: "database", db }, pipeline: [{ $match: { $or: [{ "ns.coll": { $in: [...colls].sort() } }, { "ns.coll": { $exists: false } }] } }] };
  }
  const dbs = [...byDb.keys()].sort();
  const or: Document[] = dbs.map((db) => nsMatch(db, byDb.get(db)!));
  or.push({ "ns.db": { $in: dbs }, "ns.coll": { $exists: false } }, { operationType: "invalidate" });
  return { scope: { kind: "cluster" }, pipeline: [{ $match: { $or: or } }] };
}

/**
 * How documents are read: values exactly as stored (values-encode.ts). Only where documents
 * are read — the change stream, and the snapshot's raw batches — not on the client: the
 * driver parses a failed command's reply with the command's options, and with these its
 * error codes become Int32 objects that its retry and topology rules (code === 43, codes
 * in a Set) no longer recognise.
 */
export const EXACT_VALUES = { promoteValues: false, promoteLongs: false, promoteBuffers: false, bsonRegExp: true } as const;

/** A client of the source (not connected yet), with the driver's default value promotion for its own commands. */
export function sourceClient(url: string, stream: string): MongoClient {
  return new MongoClient(url, { appName: `tributary:${stream}`, serverSelectionTimeoutMS: 15_000 });
}

/** A resume token or operation time as stored in a position (canonical Extended JSON). */
export function toStored(v: unknown): JsonValue {
  return BSON.EJSON.serialize(v, { relaxed: false }) as JsonValue;
}

/** A stored resume token / `_id` back as BSON. */
export function fromStored(v: JsonValue): unknown {
  return BSON.EJSON.deserialize(v as Document, { relaxed: false });
}

/** `_data` of a resume token when it is a string (MongoDB 4.2+: a hex KeyString). */
export function tokenData(token: unknown): string | undefined {
  const d = (token as { _data?: unknown } | null)?._data;
  return typeof d === "string" ? d : undefined;
}

/** Options of `watch` at a resume point. */
export function watchOptions(spec: MongoSourceSpec, from: ResumePoint): ChangeStreamOptions {
  const o: ChangeStreamOptions = { ...EXACT_VALUES, fullDocument: spec.fullDocument, maxAwaitTimeMS: spec.maxAwaitTime, batchSize: spec.batchSize };
  if (spec.preImages !== "off") o.fullDocumentBeforeChange = spec.preImages;
  if ("token" in from) o.resumeAfter = fromStored(from.token) as Document;
  else o.startAtOperationTime = new BSON.Timestamp({ t: from.at.t, i: from.at.i });
  return o;
}

/** Opens the change stream of `plan` at `from` (the driver sends the aggregate on the first read). */
export function openStream(client: MongoClient, spec: MongoSourceSpec, plan: WatchPlan, from: ResumePoint): ChangeStream<Document> {
  const opts = watchOptions(spec, from);
  const s = plan.scope;
  if (s.kind === "collection") return client.db(s.db).collection(s.coll).watch(plan.pipeline, opts);
  if (s.kind === "database") return client.db(s.db).watch(plan.pipeline, opts);
  return client.watch(plan.pipeline, opts);
}

/**
 * The point a fresh stream starts from, taken before the snapshot reads anything: a
 * change stream aggregate with an empty first batch (nothing is consumed), whose
 * post-batch resume token is the point; without one (Cosmos DB), its operation time.
 */
export async function startPoint(client: MongoClient, spec: MongoSourceSpec, plan: WatchPlan): Promise<ResumePoint> {
  const stage: Document = { fullDocument: spec.fullDocument };
  if (spec.preImages !== "off") stage.fullDocumentBeforeChange = spec.preImages;
  const s = plan.scope;
  if (s.kind === "cluster") stage.allChangesForCluster = true;
  const db = client.db(s.kind === "cluster" ? "admin" : s.db);
  // promoteLongs: false keeps the cursor id a Long, as killCursors wants it
  const reply = await db.command({ aggregate: s.kind === "collection" ? s.coll : 1, pipeline: [{ $changeStream: stage }, ...plan.pipeline], cursor: { batchSize: 0 } }, { promoteLongs: false });
  const cursor = reply.cursor as { id?: unknown; ns?: string; postBatchResumeToken?: unknown } | undefined;
  if (cursor?.id && String(cursor.id) !== "0") {
    const coll = cursor.ns ? cursor.ns.slice(cursor.ns.indexOf(".") + 1) : s.kind === "collection" ? s.coll : "$cmd.aggregate";
    await db.command({ killCursors: coll, cursors: [cursor.id] }).catch(() => undefined);
  }
  if (cursor?.postBatchResumeToken) return { token: toStored(cursor.postBatchResumeToken) };
  const op = reply.operationTime as BSON.Timestamp | undefined;
  if (op) return { at: { t: op.t, i: op.i } };
  throw new TributaryError("SOURCE_INVALID", `MongoDB source ${redactUrl(spec.url)}: the change stream gave neither a resume token nor an operation time to start from`);
}

/** Labels and codes of a driver error. */
function codeOf(err: unknown): { code?: number; name: string; labels: string[] } {
  const e = err as { code?: unknown; name?: unknown; errorLabels?: unknown; errorLabelSet?: Set<string> } | null;
  const labels = e?.errorLabelSet ? [...e.errorLabelSet] : Array.isArray(e?.errorLabels) ? (e.errorLabels as string[]) : [];
  // read with promoteValues: false, a server error's code is an Int32 object, not a number
  const code = e?.code === undefined || e.code === null ? Number.NaN : Number(e.code);
  return { ...(Number.isInteger(code) ? { code } : {}), name: typeof e?.name === "string" ? e.name : "", labels };
}

/**
 * Whether the change stream can resume after `err` from its last token, as the driver's own
 * rule says (network and server selection errors, the ResumableChangeStreamError label,
 * CursorNotFound). The source applies it itself: reading values exactly (promoteValues:
 * false) also makes the driver see a server error's code as an Int32 object, so its own
 * check misses CursorNotFound (43) and the stream would fail instead of resuming.
 */
export function isResumable(err: unknown): boolean {
  const { code, name, labels } = codeOf(err);
  return code === 43 || labels.includes("ResumableChangeStreamError") || /^Mongo(Network|NetworkTimeout|ServerSelection)Error$/.test(name);
}

/** Codes that mean the configuration or the rights are wrong, not the moment. */
const INVALID_CODES = new Set([13 /* Unauthorized */, 18 /* AuthenticationFailed */, 40573 /* change streams need a replica set */, 280 /* ChangeStreamFatalError */, 260 /* InvalidResumeToken */, 47 /* NoMatchingDocument: required images missing */]);

/**
 * Translates a driver error of stream `stream`. History lost (286) and the others of
 * INVALID_CODES stop the stream (not retryable); network, selection and other server
 * errors are SOURCE_UNAVAILABLE: the stream restarts from its checkpoint.
 */
export function mongoError(err: unknown, spec: MongoSourceSpec, stream: string, doing: string): TributaryError {
  if (err instanceof TributaryError) return err;
  const { code, name } = codeOf(err);
  const msg = String((err as { message?: unknown } | null)?.message ?? err);
  const place = `MongoDB source ${redactUrl(spec.url)} of stream ${stream}: ${doing}`;
  if (code === 286) {
    return new TributaryError(
      "SOURCE_INVALID",
      `${place}: the resume point is no longer in the oplog (ChangeStreamHistoryLost, 286): changes since the last checkpoint are gone. Re-snapshot the stream (POST /v1/streams/${stream}/snapshot) to start over, and keep the oplog window longer than the longest stop (docs/operations.md)`,
      { cause: err },
    );
  }
  if (code === 47 && spec.preImages === "required") {
    return new TributaryError("SOURCE_INVALID", `${place}: a change has no pre-image (preImages: required): enable changeStreamPreAndPostImages on the collection (collMod) or use preImages: whenAvailable (${msg})`, { cause: err });
  }
  if (code !== undefined && INVALID_CODES.has(code)) return new TributaryError("SOURCE_INVALID", `${place}: ${msg} (code ${code})`, { cause: err });
  if (/MongoParseError|MongoInvalidArgumentError/.test(name)) return new TributaryError("SOURCE_INVALID", `${place}: ${msg}`, { cause: err });
  return new TributaryError("SOURCE_UNAVAILABLE", `${place}: ${msg}${code !== undefined ? ` (code ${code})` : ""}`, { cause: err });
}
