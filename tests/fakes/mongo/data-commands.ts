/**
 * Data commands of the fake MongoDB server: CRUD (insert, update, delete, findAndModify, find,
 * count, distinct), aggregate (mingo pipelines, or a change stream when `$changeStream` is the
 * first stage) and the cursor commands getMore / killCursors.
 */
import { Long } from "mongodb";
import { Aggregator } from "mingo";
import { isPlainDoc, promote, promoteDoc, type Doc } from "./bson-values.js";
import { ChangeStreamCursor } from "./change-stream.js";
import { parseChangeStream } from "./change-stream-options.js";
import { DEFAULT_FIRST_BATCH } from "./cursors.js";
import { fail } from "./errors.js";
import type { CommandContext, Handler } from "./context.js";
import { docOption, intOption, project, select } from "./queries.js";
import { nsString, type Ns } from "./store.js";
import { runDelete, runFindAndModify, runInsert, runUpdate } from "./writes.js";
import { isEqual } from "mingo/util";

function nsOf(ctx: CommandContext, name: string): Ns {
  const coll = ctx.body[name];
  if (typeof coll !== "string" || coll.length === 0) throw fail("InvalidNamespace", `Invalid namespace specified: '${ctx.db}.${String(coll)}'`);
  return { db: ctx.db, coll };
}

function find(ctx: CommandContext): Doc {
  const ns = nsOf(ctx, "find");
  const limit = intOption(ctx.body, "limit") ?? 0;
  const skip = intOption(ctx.body, "skip") ?? 0;
  const sort = docOption(ctx.body, "sort");
  const opts = sort ? { sort, skip, limit: Math.abs(limit) } : { skip, limit: Math.abs(limit) };
  const projection = docOption(ctx.body, "projection");
  const docs = select(ctx.target, ns, docOption(ctx.body, "filter") ?? {}, opts).map((r) => project(r.doc, projection));
  const single = ctx.body.singleBatch === true || limit < 0;
  return ctx.core.cursors.firstBatchReply(nsString(ns), docs, intOption(ctx.body, "batchSize"), single);
}

function count(ctx: CommandContext): Doc {
  if (ctx.txn) throw fail("OperationNotSupportedInTransaction", "Cannot run 'count' in a multi-document transaction.");
  const ns = nsOf(ctx, "count");
  const recs = select(ctx.target, ns, docOption(ctx.body, "query") ?? {}, {
    skip: intOption(ctx.body, "skip") ?? 0,
    limit: Math.abs(intOption(ctx.body, "limit") ?? 0),
  });
  return { n: recs.length, ok: 1 };
}

function distinct(ctx: CommandContext): Doc {
  const ns = nsOf(ctx, "distinct");
  const key = ctx.body.key;
  if (typeof key !== "string") throw fail("TypeMismatch", "BSON field 'distinct.key' is missing or not a string");
  const values: unknown[] = [];
  const seen: unknown[] = [];
  for (const rec of select(ctx.target, ns, docOption(ctx.body, "query") ?? {})) {
    let v: unknown = rec.doc;
    for (const part of key.split(".")) v = isPlainDoc(v) ? v[part] : undefined;
    for (const x of Array.isArray(v) ? v : [v]) {
      if (x === undefined) continue;
      const p = promote(x);
      if (seen.some((s) => isEqual(s as never, p as never))) continue;
      seen.push(p);
      values.push(x);
    }
  }
  return { values, ok: 1 };
}

function openChangeStream(ctx: CommandContext, pipeline: Doc[]): Doc {
  if (ctx.txn) throw fail("OperationNotSupportedInTransaction", "Cannot run aggregate with $changeStream in a multi-document transaction.");
  const { core } = ctx;
  const spec = parseChangeStream(ctx.db, { ...ctx.body, pipeline }, core.log, core.replicaSet === undefined);
  const ns = spec.scope.kind === "collection" ? `${spec.scope.db}.${spec.scope.coll}` : `${ctx.db}.$cmd.aggregate`;
  const operationTime = core.log.clock.tick();
  const cursor = new ChangeStreamCursor(core.cursors.allocId(), ns, spec, core.store, core.log);
  const cursorOpt = docOption(ctx.body, "cursor") ?? {};
  const first = cursor.fill(intOption(cursorOpt, "batchSize") ?? DEFAULT_FIRST_BATCH);
  if (!cursor.closed) core.cursors.add(cursor);
  return {
    cursor: { firstBatch: first.batch, postBatchResumeToken: first.postBatchResumeToken, id: cursor.closed ? Long.ZERO : cursor.id, ns },
    operationTime,
    ok: 1,
  };
}

function aggregate(ctx: CommandContext): Doc {
  const pipeline = ctx.body.pipeline;
  if (!Array.isArray(pipeline) || !pipeline.every(isPlainDoc)) throw fail("TypeMismatch", "'pipeline' option must be specified as an array");
  const stages = pipeline as Doc[];
  if (stages[0] && "$changeStream" in stages[0]) return openChangeStream(ctx, stages);
  for (const st of stages) {
    const name = Object.keys(st)[0] ?? "";
    if (name === "$changeStream") throw fail("Location40602", "$changeStream is only valid as the first stage in a pipeline.");
    if (name === "$out" || name === "$merge") throw fail("NotImplemented", `${name} is not supported by the fake MongoDB`);
  }
  if (typeof ctx.body.aggregate !== "string") throw fail("NotImplemented", "collection-less aggregate is not supported by the fake MongoDB");
  const ns = nsOf(ctx, "aggregate");
  // Fresh promoted copies, not the cached views: mingo's $set/$addFields write into their input.
  const fresh = (n: Ns): Doc[] => [...ctx.target.scan(n)].map((r) => promoteDoc(r.doc));
  const agg = new Aggregator(promote(stages) as Doc[], { collectionResolver: (name: string) => fresh({ db: ctx.db, coll: name }) });
  const views = fresh(ns);
  let results: Doc[];
  try {
    results = agg.run(views) as Doc[];
  } catch (err) {
    throw fail("BadValue", `aggregate failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  const cursorOpt = docOption(ctx.body, "cursor") ?? {};
  return ctx.core.cursors.firstBatchReply(nsString(ns), results, intOption(cursorOpt, "batchSize"));
}

function write(run: typeof runInsert, name: string): Handler {
  return (ctx) => {
    const reply = run(ctx.target, nsOf(ctx, name), ctx.body);
    // mongod aborts a transaction whose statement failed with a write error.
    if (ctx.txn && Array.isArray(reply.writeErrors)) ctx.core.txns.abortActive(ctx.txn.lsid);
    return reply;
  };
}

/** Data command handlers by command name. */
export const DATA_COMMANDS: Record<string, Handler> = {
  insert: write(runInsert, "insert"),
  update: write(runUpdate, "update"),
  delete: write(runDelete, "delete"),
  findAndModify: write(runFindAndModify, "findAndModify"),
  findandmodify: write(runFindAndModify, "findandmodify"),
  find,
  count,
  distinct,
  aggregate,
  getMore: (ctx) => ctx.core.cursors.getMore(ctx.body),
  killCursors: (ctx) => ctx.core.cursors.killCursors(ctx.body),
};
