/**
 * Document selection for the fake MongoDB server: filters, sorts and projections through mingo
 * on the promoted view of each document, results taken from the exact stored document. An
 * `_id` equality filter is answered by a key lookup, so per-key writes of a sink stay O(1).
 */
import { Query } from "mingo";
import { isPlainDoc, keyOf, promoteDoc, toNum, type Doc } from "./bson-values.js";
import { fail } from "./errors.js";
import { viewOf, type DocRecord, type Ns } from "./store.js";
import type { DocTarget } from "./targets.js";

/** Options of a selection. */
export interface SelectOptions {
  sort?: Doc;
  skip?: number;
  /** Maximum number of documents (0 or undefined = all). */
  limit?: number;
}

/** The value of an exact `_id` equality in a filter (`{_id: v}` or `{_id: {$eq: v}}`). */
export function idEquality(filter: Doc): { value: unknown } | undefined {
  if (!("_id" in filter)) return undefined;
  const v = filter._id;
  if (isPlainDoc(v) && Object.keys(v).some((k) => k.startsWith("$"))) {
    return Object.keys(v).length === 1 && "$eq" in v ? { value: v.$eq } : undefined;
  }
  return { value: v };
}

/** Compiles a filter into a predicate on stored records. */
export function compileFilter(filter: Doc): (rec: DocRecord) => boolean {
  if (Object.keys(filter).length === 0) return () => true;
  let q: Query;
  try {
    q = new Query(promoteDoc(filter));
  } catch (err) {
    throw fail("BadValue", `invalid filter: ${err instanceof Error ? err.message : String(err)}`);
  }
  return (rec) => q.test(viewOf(rec));
}

/** Documents of `ns` matching `filter`, sorted, skipped and limited like mongod's find. */
export function select(target: DocTarget, ns: Ns, filter: Doc, opts: SelectOptions = {}): DocRecord[] {
  const match = compileFilter(filter);
  const skip = opts.skip ?? 0;
  const limit = opts.limit ?? 0;
  const sorted = opts.sort !== undefined && Object.keys(opts.sort).length > 0;
  const id = idEquality(filter);
  let candidates: Iterable<DocRecord>;
  if (id) {
    const rec = target.get(ns, keyOf(id.value));
    candidates = rec ? [rec] : [];
  } else {
    candidates = target.scan(ns);
  }
  const out: DocRecord[] = [];
  for (const rec of candidates) {
    if (!match(rec)) continue;
    out.push(rec);
    if (!sorted && limit > 0 && out.length >= skip + limit) break;
  }
  const ordered = sorted ? sortRecords(out, opts.sort as Doc) : out;
  return ordered.slice(skip, limit > 0 ? skip + limit : undefined);
}

/** Sorts records by a mongod sort spec (`{field: 1 | -1}`) with mingo's BSON ordering. */
export function sortRecords(recs: DocRecord[], sort: Doc): DocRecord[] {
  const spec: Record<string, 1 | -1> = {};
  for (const [k, v] of Object.entries(sort)) spec[k] = (toNum(v) ?? 1) < 0 ? -1 : 1;
  const byView = new Map<Doc, DocRecord>();
  for (const rec of recs) byView.set(viewOf(rec), rec);
  return new Query({})
    .find<Doc>([...byView.keys()])
    .sort(spec)
    .all()
    .map((v) => byView.get(v) as DocRecord);
}

/** Applies a find projection to an exact document; `_id` stays the first field like mongod. */
export function project(doc: Doc, projection: Doc | undefined): Doc {
  if (!projection || Object.keys(projection).length === 0) return doc;
  let out: Doc;
  try {
    // Promoted: mingo reads `{a: Int32(1)}` as a literal expression, not as an inclusion flag.
    out = new Query({}).find<Doc>([doc], promoteDoc(projection)).all()[0] ?? {};
  } catch (err) {
    throw fail("BadValue", `invalid projection: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!("_id" in out)) return out;
  const ordered: Doc = { _id: out._id };
  for (const [k, v] of Object.entries(out)) if (k !== "_id") ordered[k] = v;
  return ordered;
}

/** Reads an optional integer option of a command (Int32/Double/Long/number). */
export function intOption(body: Doc, name: string): number | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  const n = toNum(v);
  if (n === undefined) throw fail("TypeMismatch", `BSON field '${name}' is the wrong type, expected a number`);
  return n;
}

/** Reads an optional document option of a command. */
export function docOption(body: Doc, name: string): Doc | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (!isPlainDoc(v)) throw fail("TypeMismatch", `BSON field '${name}' is the wrong type, expected an object`);
  return v;
}
