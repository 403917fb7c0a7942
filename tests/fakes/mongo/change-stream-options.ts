/**
 * Parsing and validation of a `$changeStream` aggregate for the fake MongoDB server: the watched
 * scope (collection, database or cluster), the fullDocument / fullDocumentBeforeChange modes,
 * the user stages allowed after `$changeStream`, and the start position from resumeAfter,
 * startAfter or startAtOperationTime, with mongod's error codes for invalid or lost positions.
 */
import type { Timestamp } from "mongodb";
import { bsonType, isPlainDoc, type Doc } from "./bson-values.js";
import { decodeToken, type ChangeLog, type LogEntry } from "./change-log.js";
import { fail } from "./errors.js";

/** What a change stream watches. */
export type StreamScope = { kind: "collection"; db: string; coll: string } | { kind: "database"; db: string } | { kind: "cluster" };

/** A parsed `$changeStream` aggregate. */
export interface StreamSpec {
  scope: StreamScope;
  fullDocument: "default" | "updateLookup" | "whenAvailable" | "required";
  fullDocumentBeforeChange: "off" | "whenAvailable" | "required";
  /** User stages after `$changeStream`. */
  stages: Doc[];
  /** Log position the stream starts after. */
  startSeq: number;
  /** The start event itself invalidates the stream (resumed right after a drop): emit invalidate first. */
  invalidateFirst: boolean;
}

const OPTIONS = new Set([
  "fullDocument",
  "fullDocumentBeforeChange",
  "resumeAfter",
  "startAfter",
  "startAtOperationTime",
  "allChangesForCluster",
  "showExpandedEvents",
  "showSystemEvents",
  "showRawUpdateDescription",
  "allowToRunOnConfigDB",
  "allowToRunOnSystemNS",
]);
const USER_STAGES = new Set(["$match", "$project", "$addFields", "$set", "$unset", "$replaceRoot", "$replaceWith", "$redact"]);
const INTERNAL_DBS = new Set(["admin", "config", "local"]);
const HISTORY_LOST = "Resume of change stream was not possible, as the resume point may no longer be in the oplog.";

/** True if `entry` belongs to the stream's scope. */
export function inScope(scope: StreamScope, entry: LogEntry): boolean {
  if (scope.kind === "collection") return entry.ns.db === scope.db && entry.ns.coll === scope.coll;
  if (scope.kind === "database") return entry.ns.db === scope.db && !(entry.ns.coll ?? "").startsWith("system.");
  return !INTERNAL_DBS.has(entry.ns.db);
}

/** True if `entry` ends the stream with an invalidate event (drop/rename of the collection, dropDatabase). */
export function invalidates(scope: StreamScope, entry: LogEntry): boolean {
  if (scope.kind === "collection") return (entry.op === "drop" || entry.op === "rename") && inScope(scope, entry);
  if (scope.kind === "database") return entry.op === "dropDatabase" && entry.ns.db === scope.db;
  return false;
}

function scopeOf(db: string, body: Doc, opts: Doc): StreamScope {
  const target = body.aggregate;
  if (typeof target === "string") {
    if (INTERNAL_DBS.has(db)) throw fail("InvalidNamespace", `$changeStream may not be opened on the internal ${db} database`);
    return { kind: "collection", db, coll: target };
  }
  if (opts.allChangesForCluster === true) {
    if (db !== "admin") throw fail("InvalidNamespace", "A $changeStream with 'allChangesForCluster:true' may only be opened on the 'admin' database");
    return { kind: "cluster" };
  }
  if (INTERNAL_DBS.has(db)) throw fail("InvalidNamespace", `$changeStream may not be opened on the internal ${db} database`);
  return { kind: "database", db };
}

function oneOf<T extends string>(opts: Doc, name: string, allowed: readonly T[], dflt: T): T {
  const v = opts[name];
  if (v === undefined) return dflt;
  if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) {
    throw fail("BadValue", `BSON field '$changeStream.${name}' has an invalid value: ${String(v)}; expected one of ${allowed.join(", ")}`);
  }
  return v as T;
}

function tokenSeq(name: string, token: unknown, log: ChangeLog): { seq: number; invalidate: boolean } {
  const pos = isPlainDoc(token) ? decodeToken(token._data) : undefined;
  if (!pos) throw fail("InvalidResumeToken", `Bad resume token: '$changeStream.${name}' is not a token issued by this server`);
  if (pos.seq < log.floor) throw fail("ChangeStreamHistoryLost", HISTORY_LOST);
  return pos;
}

/** Parses the aggregate of a change stream; throws mongod's errors for invalid requests. */
export function parseChangeStream(db: string, body: Doc, log: ChangeLog, standalone: boolean): StreamSpec {
  const pipeline = body.pipeline as Doc[];
  const opts = (pipeline[0] as Doc).$changeStream;
  if (standalone) throw fail("Location40573", "The $changeStream stage is only supported on replica sets");
  if (!isPlainDoc(opts)) throw fail("FailedToParse", "the $changeStream stage specification must be an object");
  for (const k of Object.keys(opts)) {
    if (!OPTIONS.has(k)) throw fail("Location40415", `BSON field '$changeStream.${k}' is an unknown field.`);
  }
  const stages = pipeline.slice(1);
  for (const st of stages) {
    const name = Object.keys(st)[0] ?? "";
    if (name === "$changeStream") throw fail("Location40602", "$changeStream is only valid as the first stage in a pipeline.");
    if (!USER_STAGES.has(name)) throw fail("IllegalOperation", `${name} is not permitted in a $changeStream pipeline`);
  }
  const starts = ["resumeAfter", "startAfter", "startAtOperationTime"].filter((k) => opts[k] !== undefined);
  if (starts.length > 1) throw fail("Location40674", "Only one type of resume option is allowed, but multiple were found.");
  const spec: StreamSpec = {
    scope: scopeOf(db, body, opts),
    fullDocument: oneOf(opts, "fullDocument", ["default", "updateLookup", "whenAvailable", "required"] as const, "default"),
    fullDocumentBeforeChange: oneOf(opts, "fullDocumentBeforeChange", ["off", "whenAvailable", "required"] as const, "off"),
    stages,
    startSeq: log.lastSeq,
    invalidateFirst: false,
  };
  const token = opts.resumeAfter ?? opts.startAfter;
  if (token !== undefined) {
    const name = opts.resumeAfter !== undefined ? "resumeAfter" : "startAfter";
    const pos = tokenSeq(name, token, log);
    if (pos.invalidate && name === "resumeAfter") {
      throw fail("InvalidResumeToken", "Attempting to resume a change stream using 'resumeAfter' is not allowed from an invalidate notification.");
    }
    spec.startSeq = pos.seq;
    // Resuming right after a drop (not after its invalidate) must still deliver the invalidate.
    const entry = pos.invalidate ? undefined : log.get(pos.seq);
    spec.invalidateFirst = entry !== undefined && invalidates(spec.scope, entry);
  } else if (opts.startAtOperationTime !== undefined) {
    if (bsonType(opts.startAtOperationTime) !== "Timestamp") throw fail("TypeMismatch", "BSON field '$changeStream.startAtOperationTime' is the wrong type, expected type timestamp");
    const at = log.positionAt(opts.startAtOperationTime as Timestamp);
    if (at === undefined) throw fail("ChangeStreamHistoryLost", HISTORY_LOST);
    spec.startSeq = at;
  }
  return spec;
}
