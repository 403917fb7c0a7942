/**
 * Write commands of the fake MongoDB server: insert, update, delete and findAndModify with
 * mongod's reply shapes (n, nModified, upserted, writeErrors with index) and ordered /
 * unordered semantics; updates by operators, replacement document or pipeline. Every document
 * change goes through a DocTarget, so the same code runs inside and outside transactions;
 * no-op updates change nothing and log nothing, as in mongod.
 */
import { BSON, ObjectId } from "mongodb";
import { bsonEqual, bsonType, idFirst, isPlainDoc, keyOf, promote, toNum, type Doc } from "./bson-values.js";
import { CommandError, fail, type WriteError } from "./errors.js";
import { docOption, project, select } from "./queries.js";
import type { DocRecord, Ns } from "./store.js";
import type { DocChange, DocTarget } from "./targets.js";
import { applyOperators, isOperatorUpdate } from "./update-ops.js";
import { applyPipeline, isPipelineUpdate } from "./update-pipeline.js";
import { setPath, UpdateLog } from "./update-paths.js";

function showValue(v: unknown): string {
  return BSON.EJSON.stringify(promote(v) as never, { relaxed: true });
}

function validateId(id: unknown): void {
  if (Array.isArray(id)) throw fail("BadValue", "can't use an array for _id");
  if (bsonType(id) === "BSONRegExp" || id instanceof RegExp) throw fail("BadValue", "can't use a regex for _id");
}

function duplicate(ns: Ns, id: unknown): CommandError {
  const err = fail("DuplicateKey", `E11000 duplicate key error collection: ${ns.db}.${ns.coll} index: _id_ dup key: { _id: ${showValue(id)} }`);
  return Object.assign(err, { keyPattern: { _id: 1 }, keyValue: { _id: id } });
}

function insertOne(t: DocTarget, ns: Ns, raw: Doc): Doc {
  const doc = idFirst("_id" in raw ? raw : { _id: new ObjectId(), ...raw });
  validateId(doc._id);
  const key = keyOf(doc._id);
  if (t.get(ns, key)) throw duplicate(ns, doc._id);
  t.write({ ns, key, op: "insert", after: doc });
  return doc;
}

function toWriteError(index: number, err: unknown): WriteError {
  // A transaction's write conflict fails the whole command, as in mongod.
  if (!(err instanceof CommandError) || err.errorLabels.length > 0) throw err;
  const we: WriteError = { index, code: err.code, errmsg: err.message };
  const extra = err as CommandError & { keyPattern?: Doc; keyValue?: Doc };
  if (extra.keyPattern) we.keyPattern = extra.keyPattern;
  if (extra.keyValue) we.keyValue = extra.keyValue;
  return we;
}

function statements(body: Doc, field: string): Doc[] {
  const v = body[field];
  if (!Array.isArray(v)) throw fail("FailedToParse", `BSON field '${field}' is missing but a required field`);
  return v as Doc[];
}

/** Runs each statement; collects write errors with their index, stopping at the first if ordered. */
function eachStatement(body: Doc, field: string, run: (stmt: Doc, index: number) => void): WriteError[] {
  const ordered = body.ordered !== false;
  const errors: WriteError[] = [];
  statements(body, field).forEach((stmt, i) => {
    if (ordered && errors.length > 0) return;
    try {
      run(stmt, i);
    } catch (err) {
      errors.push(toWriteError(i, err));
    }
  });
  return errors;
}

function withErrors(reply: Doc, errors: WriteError[]): Doc {
  if (errors.length > 0) reply.writeErrors = errors;
  reply.ok = 1;
  return reply;
}

/** `insert`: `{insert, documents, ordered}` → `{n, writeErrors?}`. */
export function runInsert(t: DocTarget, ns: Ns, body: Doc): Doc {
  let n = 0;
  const errors = eachStatement(body, "documents", (doc) => {
    insertOne(t, ns, doc);
    n += 1;
  });
  return withErrors({ n }, errors);
}

/** Equality fields of an upsert query, as mongod seeds the inserted document. */
function seedFromQuery(q: Doc, into: Doc = {}): Doc {
  for (const [k, v] of Object.entries(q)) {
    if (k === "$and" && Array.isArray(v)) {
      for (const sub of v) if (isPlainDoc(sub)) seedFromQuery(sub, into);
      continue;
    }
    if (k.startsWith("$")) continue;
    const isOps = isPlainDoc(v) && Object.keys(v).some((x) => x.startsWith("$"));
    if (isOps && !("$eq" in (v as Doc))) continue;
    setPath(into, k, isOps ? (v as Doc).$eq : v, new UpdateLog());
  }
  return into;
}

/** An update specification: operators, a replacement document, or a pipeline. */
type UpdateSpec = Doc | Doc[];

/** The new version of `pre` after update `u`, or undefined for a no-op. */
function updated(pre: Doc, u: UpdateSpec): Omit<DocChange, "ns" | "key"> | undefined {
  if (isPipelineUpdate(u) || isOperatorUpdate(u)) {
    const { doc, log } = isPipelineUpdate(u) ? applyPipeline(pre, u) : applyOperators(pre, u, false);
    if (!bsonEqual(doc._id, pre._id)) throw fail("ImmutableField", "Performing an update on the path '_id' would modify the immutable field '_id'");
    if (!log.changed) return undefined;
    return { op: "update", before: pre, after: doc, updateDescription: log.describe(doc) };
  }
  if ("_id" in u && keyOf(u._id) !== keyOf(pre._id)) {
    throw fail("ImmutableField", `After applying the update, the (immutable) field '_id' was found to have been altered to _id: ${showValue(u._id)}`);
  }
  const after = idFirst({ ...u, _id: pre._id });
  if (bsonEqual(after, pre)) return undefined;
  return { op: "replace", before: pre, after };
}

/** The document an upsert inserts. */
function upsertDoc(q: Doc, u: UpdateSpec): Doc {
  const seed = seedFromQuery(q);
  if (isPipelineUpdate(u) || isOperatorUpdate(u)) {
    const { doc } = isPipelineUpdate(u) ? applyPipeline(seed, u) : applyOperators(seed, u, true);
    return idFirst("_id" in doc ? doc : { _id: new ObjectId(), ...doc });
  }
  const id = "_id" in u ? u._id : "_id" in seed ? seed._id : new ObjectId();
  return idFirst({ ...u, _id: id });
}

function checkUpdateSpec(u: unknown, multi: boolean): UpdateSpec {
  if (isPipelineUpdate(u)) return u;
  if (!isPlainDoc(u)) throw fail("FailedToParse", "BSON field 'update.updates.u' is the wrong type, expected an object");
  if (multi && !isOperatorUpdate(u)) throw fail("FailedToParse", "multi update is not supported for replacement-style update");
  return u;
}

/** Updates one matched record; returns true if it changed. */
function updateRecord(t: DocTarget, ns: Ns, rec: DocRecord, u: UpdateSpec): boolean {
  const change = updated(rec.doc, u);
  if (!change) return false;
  t.write({ ns, key: keyOf(rec.doc._id), ...change });
  return true;
}

/** `update`: `{update, updates: [{q, u, upsert, multi}]}` → `{n, nModified, upserted?, writeErrors?}`. */
export function runUpdate(t: DocTarget, ns: Ns, body: Doc): Doc {
  let n = 0;
  let nModified = 0;
  const upserted: Doc[] = [];
  const errors = eachStatement(body, "updates", (stmt, index) => {
    const q = docOption(stmt, "q") ?? {};
    const multi = stmt.multi === true;
    const u = checkUpdateSpec(stmt.u, multi);
    const matches = select(t, ns, q, { limit: multi ? 0 : 1 });
    for (const rec of matches) {
      n += 1;
      if (updateRecord(t, ns, rec, u)) nModified += 1;
    }
    if (matches.length === 0 && stmt.upsert === true) {
      const doc = insertOne(t, ns, upsertDoc(q, u));
      upserted.push({ index, _id: doc._id });
      n += 1;
    }
  });
  const reply: Doc = { n, nModified };
  if (upserted.length > 0) reply.upserted = upserted;
  return withErrors(reply, errors);
}

/** `delete`: `{delete, deletes: [{q, limit: 0|1}]}` → `{n, writeErrors?}`. */
export function runDelete(t: DocTarget, ns: Ns, body: Doc): Doc {
  let n = 0;
  const errors = eachStatement(body, "deletes", (stmt) => {
    const q = docOption(stmt, "q") ?? {};
    for (const rec of select(t, ns, q, { limit: (toNum(stmt.limit) ?? 0) === 0 ? 0 : 1 })) {
      t.write({ ns, key: keyOf(rec.doc._id), op: "delete", before: rec.doc });
      n += 1;
    }
  });
  return withErrors({ n }, errors);
}

/** `findAndModify`: one document updated, replaced, upserted or removed; returns it before or after. */
export function runFindAndModify(t: DocTarget, ns: Ns, body: Doc): Doc {
  const q = docOption(body, "query") ?? {};
  const sort = docOption(body, "sort");
  const fields = docOption(body, "fields");
  const rec = select(t, ns, q, sort ? { sort, limit: 1 } : { limit: 1 })[0];
  const lastErrorObject: Doc = { n: 0, updatedExisting: false };
  let value: Doc | null = null;
  if (body.remove === true) {
    if (rec) {
      t.write({ ns, key: keyOf(rec.doc._id), op: "delete", before: rec.doc });
      lastErrorObject.n = 1;
      value = rec.doc;
    }
    return { lastErrorObject, value: value && project(value, fields), ok: 1 };
  }
  const u = checkUpdateSpec(body.update, false);
  if (rec) {
    updateRecord(t, ns, rec, u);
    Object.assign(lastErrorObject, { n: 1, updatedExisting: true });
    value = body.new === true ? (t.get(ns, keyOf(rec.doc._id))?.doc ?? null) : rec.doc;
  } else if (body.upsert === true) {
    const doc = insertOne(t, ns, upsertDoc(q, u));
    Object.assign(lastErrorObject, { n: 1, upserted: doc._id });
    value = body.new === true ? doc : null;
  }
  return { lastErrorObject, value: value && project(value, fields), ok: 1 };
}
