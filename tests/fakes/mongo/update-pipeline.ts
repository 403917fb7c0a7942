/**
 * Pipeline-style updates (`u: [{$set: …}, …]`) for the fake MongoDB server. mingo evaluates the
 * stages on the number-promoted view; values the pipeline did not change keep their exact
 * stored BSON types, changed values are taken from mingo's result. The change is then logged the
 * way mongod diffs a pipeline update (updated/removed fields, shortened arrays as
 * `truncatedArrays`), which is the only source of truncatedArrays in change events.
 */
import { Aggregator } from "mingo";
import { isEqual } from "mingo/util";
import { bsonEqual, isPlainDoc, promote, promoteDoc, type Doc } from "./bson-values.js";
import { fail } from "./errors.js";
import { UpdateLog } from "./update-paths.js";

const STAGES = new Set(["$addFields", "$set", "$project", "$unset", "$replaceRoot", "$replaceWith"]);

/** The new value with every part equal to the old one taken from the exact old value. */
function mergeExact(before: unknown, beforeView: unknown, after: unknown): unknown {
  if (isEqual(beforeView as never, after as never)) return before;
  if (isPlainDoc(before) && isPlainDoc(beforeView) && isPlainDoc(after)) {
    const out: Doc = {};
    for (const [k, v] of Object.entries(after)) out[k] = k in before ? mergeExact(before[k], beforeView[k], v) : v;
    return out;
  }
  if (Array.isArray(before) && Array.isArray(beforeView) && Array.isArray(after)) {
    return after.map((v: unknown, i) => (i < before.length ? mergeExact(before[i], beforeView[i], v) : v));
  }
  return after;
}

function diffArrays(pre: unknown[], post: unknown[], path: string, log: UpdateLog): void {
  if (post.length < pre.length) log.truncated.push({ field: path, newSize: post.length });
  post.forEach((v, i) => {
    const p = `${path}.${i}`;
    if (i >= pre.length) log.updated.add(p);
    else if (isPlainDoc(pre[i]) && isPlainDoc(v)) diffDocs(pre[i] as Doc, v, `${p}.`, log);
    else if (!bsonEqual(pre[i], v)) log.updated.add(p);
  });
}

function diffDocs(pre: Doc, post: Doc, prefix: string, log: UpdateLog): void {
  for (const k of Object.keys(pre)) if (!(k in post)) log.removed.push(`${prefix}${k}`);
  for (const [k, v] of Object.entries(post)) {
    const p = `${prefix}${k}`;
    if (!(k in pre)) log.updated.add(p);
    else if (isPlainDoc(pre[k]) && isPlainDoc(v)) diffDocs(pre[k] as Doc, v, `${p}.`, log);
    else if (Array.isArray(pre[k]) && Array.isArray(v)) diffArrays(pre[k] as unknown[], v, p, log);
    else if (!bsonEqual(pre[k], v)) log.updated.add(p);
  }
}

/** True if `u` is a pipeline-style update. */
export function isPipelineUpdate(u: unknown): u is Doc[] {
  return Array.isArray(u);
}

/** Applies a pipeline-style update to `doc`; returns the new document and its change log. */
export function applyPipeline(doc: Doc, stages: unknown[]): { doc: Doc; log: UpdateLog } {
  for (const st of stages) {
    const name = isPlainDoc(st) ? Object.keys(st)[0] : undefined;
    if (!name || !STAGES.has(name)) throw fail("FailedToParse", `${String(name)} is not allowed to be used within an update`);
  }
  const view = promoteDoc(doc);
  let result: Doc | undefined;
  try {
    // mingo's $set writes nested paths into its input: give it its own copy, not `view`.
    result = new Aggregator(promote(stages) as Doc[]).run([promoteDoc(doc)])[0] as Doc | undefined;
  } catch (err) {
    throw fail("BadValue", `pipeline update failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!result) throw fail("BadValue", "pipeline update produced no document");
  const next = mergeExact(doc, view, result) as Doc;
  const log = new UpdateLog();
  diffDocs(doc, next, "", log);
  return { doc: next, log };
}
