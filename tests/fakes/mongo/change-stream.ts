/**
 * A change-stream cursor of the fake MongoDB server: reads the global change log from its
 * position, turns entries into change events (with fullDocument / fullDocumentBeforeChange as
 * requested), runs the user's stages through mingo, appends `invalidate` after a drop or rename
 * of the watched collection, and reports a postBatchResumeToken with every batch: the last
 * returned event's token, or the newest log position when nothing matched, so an idle stream's
 * resume point keeps advancing like mongod's.
 */
import { BSON, type Long } from "mongodb";
import { Aggregator, Query } from "mingo";
import { cloneDoc, isPlainDoc, keyOf, promoteDoc, type Doc } from "./bson-values.js";
import { tokenData, type ChangeLog, type LogEntry } from "./change-log.js";
import { inScope, invalidates, type StreamSpec } from "./change-stream-options.js";
import { fail } from "./errors.js";
import type { Store } from "./store.js";

/** Replies stay below mongod's 16 MiB document limit with room for the envelope. */
const MAX_BATCH_BYTES = 15 * 1024 * 1024;

type Stage = { match: Query } | { agg: Aggregator; clone: boolean };

/** One batch of a change stream. */
export interface StreamBatch {
  batch: Doc[];
  postBatchResumeToken: Doc;
}

function compileStage(stage: Doc): Stage {
  const name = Object.keys(stage)[0];
  if (name === "$match") return { match: new Query(promoteDoc(stage.$match as Doc)) };
  // mingo's $addFields/$set write nested paths into the input; give those stages a private copy.
  return { agg: new Aggregator([promoteDoc(stage)]), clone: name !== "$project" };
}

function describeToken(ev: Doc): string {
  return BSON.EJSON.stringify({ _id: ev._id } as never);
}

/** A `$changeStream` cursor. */
export class ChangeStreamCursor {
  private pos: number;
  private invalidateAt: LogEntry | undefined;
  private readonly stages: Stage[];
  /** True once the stream returned its invalidate (cursor id 0 from then on). */
  closed = false;
  private killed = false;

  constructor(
    readonly id: Long,
    readonly ns: string,
    private readonly spec: StreamSpec,
    private readonly store: Store,
    private readonly log: ChangeLog,
  ) {
    this.pos = spec.startSeq;
    if (spec.invalidateFirst) this.invalidateAt = log.get(spec.startSeq);
    this.stages = spec.stages.map(compileStage);
  }

  /** Stops the cursor; a getMore waiting on it returns at once. */
  kill(): void {
    this.killed = true;
    this.log.wake();
  }

  private postImage(e: LogEntry): Doc | null | undefined {
    switch (this.spec.fullDocument) {
      case "default":
        return undefined;
      case "updateLookup":
        return this.store.getDoc({ db: e.ns.db, coll: e.ns.coll ?? "" }, keyOf(e.documentKey?._id))?.doc ?? null;
      case "whenAvailable":
        return e.images ? (e.post ?? null) : null;
      case "required":
        if (e.images && e.post) return e.post;
        throw fail("NoMatchingDocument", `Change stream was configured to require a post-image for all update events, but the post-image was not found for event: ${describeToken({ _id: { _data: tokenData(e.seq) } })}`);
    }
  }

  private preImage(e: LogEntry): Doc | null {
    if (e.images && e.pre) return e.pre;
    if (this.spec.fullDocumentBeforeChange === "whenAvailable") return null;
    throw fail("NoMatchingDocument", `Change stream was configured to require a pre-image for all update, delete and replace events, but the pre-image was not available for event: ${describeToken({ _id: { _data: tokenData(e.seq) } })}`);
  }

  /** The change event of a log entry, before user stages. */
  private eventOf(e: LogEntry): Doc {
    const ev: Doc = { _id: { _data: tokenData(e.seq) }, operationType: e.op, clusterTime: e.ts };
    if (e.txn) Object.assign(ev, { txnNumber: e.txn.txnNumber, lsid: e.txn.lsid });
    ev.wallTime = e.wall;
    if (e.op === "insert" || e.op === "replace") ev.fullDocument = e.post;
    if (e.op === "update") {
      const post = this.postImage(e);
      if (post !== undefined) ev.fullDocument = post;
    }
    ev.ns = e.ns.coll === undefined ? { db: e.ns.db } : { db: e.ns.db, coll: e.ns.coll };
    if (e.to) ev.to = { db: e.to.db, coll: e.to.coll };
    if (e.documentKey) ev.documentKey = e.documentKey;
    if (e.updateDescription) ev.updateDescription = e.updateDescription;
    if ((e.op === "update" || e.op === "replace" || e.op === "delete") && this.spec.fullDocumentBeforeChange !== "off") {
      ev.fullDocumentBeforeChange = this.preImage(e);
    }
    return ev;
  }

  /** Runs the user's stages; undefined when a $match dropped the event. */
  private applyStages(ev: Doc): Doc | undefined {
    let cur = ev;
    for (const st of this.stages) {
      if ("match" in st) {
        if (!st.match.test(promoteDoc(cur))) return undefined;
        continue;
      }
      const out = st.agg.run([st.clone ? cloneDoc(cur) : cur])[0];
      if (!out) return undefined;
      cur = out as Doc;
    }
    const id = cur._id;
    if (!isPlainDoc(id) || id._data !== (ev._id as Doc)._data) {
      throw fail(
        "ChangeStreamFatalError",
        "Encountered an event whose _id field, which contains the resume token, was modified by the pipeline. Modifying the _id field of an event makes it impossible to resume the stream from that point. Only transformations that retain the unmodified _id field are allowed.",
      );
    }
    return cur;
  }

  /** Reads up to `max` events that are already in the log (never waits). */
  fill(max: number): StreamBatch {
    const batch: Doc[] = [];
    let bytes = 0;
    let closedToken: Doc | undefined;
    while (batch.length < max && bytes < MAX_BATCH_BYTES && !this.closed) {
      if (this.invalidateAt) {
        const at = this.invalidateAt;
        const token = { _data: tokenData(at.seq, true) };
        const out = this.applyStages({ _id: token, operationType: "invalidate", clusterTime: at.ts, wallTime: at.wall });
        if (out) batch.push(out);
        this.closed = true;
        closedToken = token;
        break;
      }
      const seq = this.pos + 1;
      if (seq > this.log.lastSeq) break;
      const entry = this.log.get(seq);
      if (!entry) throw fail("ChangeStreamHistoryLost", "Resume of change stream was not possible, as the resume point may no longer be in the oplog.");
      if (inScope(this.spec.scope, entry)) {
        const out = this.applyStages(this.eventOf(entry));
        if (out) {
          batch.push(out);
          bytes += BSON.calculateObjectSize(out);
        }
        if (invalidates(this.spec.scope, entry)) this.invalidateAt = entry;
      }
      this.pos = seq;
    }
    const last = batch.at(-1);
    const postBatchResumeToken = last ? (last._id as Doc) : (closedToken ?? { _data: tokenData(this.pos) });
    return { batch, postBatchResumeToken };
  }

  /** getMore: returns events at once if there are any, else waits up to `maxTimeMS` for some. */
  async next(maxTimeMS: number, max: number): Promise<StreamBatch> {
    const deadline = Date.now() + maxTimeMS;
    for (;;) {
      if (this.killed) throw fail("CursorKilled", `cursor id ${this.id.toString()} was killed`);
      const r = this.fill(max);
      if (r.batch.length > 0 || this.closed || Date.now() >= deadline) return r;
      await this.log.waitForAppend(deadline - Date.now());
    }
  }
}
