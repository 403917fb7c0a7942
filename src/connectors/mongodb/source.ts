/**
 * The MongoDB source (the source contract's adapter for change streams, docs/adr/0009).
 * A fresh stream first takes its change stream start point and makes it durable, then
 * snapshots each collection in `_id` order (its progress checkpointed, so a crash resumes
 * after the last published `_id`), then streams from the start point: changes that overlap
 * the snapshot are replayed, and sinks apply them idempotently. The position is the resume
 * token; every batch (an idle one too: the post-batch resume token) carries it, and the
 * kernel checkpoints it once JetStream holds everything before it. Resumable errors are
 * resumed by the driver from its cached token (the last event handed to us or the post-batch
 * token): nothing is skipped, nothing read twice. History lost (286), `invalidate` and a
 * dropped or renamed collection stop the stream with the way out: a re-snapshot.
 */
import type { ChangeStream, Document, MongoClient } from "mongodb";
import { TributaryError, backoff, redactUrl, sleep } from "../../base/index.js";
import type { SourceBatch, SourceChange, SourceConnector, SourceContext, SourceDeps } from "../../core/index.js";
import { fromStored, isResumable, mongoError, openStream, sourceClient, startPoint, toStored, tokenData, watchPlan, type WatchPlan } from "./change-stream.js";
import { changeEvent, endingOf, opOf, snapshotEvent, type EventContext } from "./event-builder.js";
import { decodePosition, epochOf, genOf, genPos, snapshotPos, tokenPos, type MongoPosition, type SnapshotProgress } from "./position.js";
import type { MongoSourceSpec } from "./schema-source.js";
import { readCollection, snapshotCollections } from "./snapshot.js";
import { splitNamespace } from "./schema-source.js";

/** A resume point for the logs ("token" fields are redacted as secrets): the token's `_data`, or the operation time. */
function describe(r: MongoPosition["resume"]): string {
  if ("at" in r) return `operationTime ${r.at.t}.${r.at.i}`;
  const data = (r.token as { _data?: unknown } | null)?._data;
  return typeof data === "string" ? `token ${data}` : `token ${JSON.stringify(r.token)}`;
}

/** Resumable errors in a row before the stream fails (SOURCE_UNAVAILABLE: it restarts from its checkpoint). */
const RESUME_ATTEMPTS = 5;

/** The `stream` actor's source for a `type: mongodb` source. */
export class MongoSource implements SourceConnector<MongoPosition> {
  private client: MongoClient | undefined;
  private cs: ChangeStream<Document> | undefined;
  private readonly plan: WatchPlan;
  private readonly ectx: EventContext;

  constructor(
    private readonly spec: MongoSourceSpec,
    private readonly d: SourceDeps,
  ) {
    this.plan = watchPlan(spec);
    this.ectx = { stream: d.stream.id };
  }

  async *read(ctx: SourceContext<MongoPosition>): AsyncGenerator<SourceBatch<MongoPosition>, void> {
    const { spec, d } = this;
    let checkpoint: MongoPosition | null;
    try {
      checkpoint = decodePosition(ctx.checkpoint);
    } catch (err) {
      throw new TributaryError("SOURCE_INVALID", `stream ${d.stream.id}: the stored position is not a MongoDB position (${(err as Error).message}); re-snapshot the stream (POST /v1/streams/${d.stream.id}/snapshot) to start over`);
    }
    const client = (this.client = sourceClient(spec.url, d.stream.id));
    await client.connect().catch((err: unknown) => Promise.reject(mongoError(err, spec, d.stream.id, "connecting")));

    let pos: MongoPosition;
    if (!checkpoint) {
      // a fresh start: the stream's start point first, durable before anything is published
      const resume = await startPoint(client, spec, this.plan).catch((err: unknown) => Promise.reject(mongoError(err, spec, d.stream.id, "opening the change stream")));
      const epoch = epochOf(ctx.tail) + 1;
      if (spec.snapshot === "initial") {
        const collections = await snapshotCollections(client, spec.collections).catch((err: unknown) => Promise.reject(mongoError(err, spec, d.stream.id, "listing the collections")));
        pos = { v: 1, epoch, resume, snapshot: { attempt: 1, collections, index: 0, lastId: null } };
      } else {
        pos = { v: 1, epoch, resume };
      }
      d.log.info({ startPoint: describe(resume), epoch, snapshot: pos.snapshot?.collections ?? false }, "change stream start point taken");
      yield { changes: [], position: pos, durable: true };
      if (ctx.signal.aborted) return;
    } else {
      pos = checkpoint;
      if (pos.snapshot) pos = { ...pos, snapshot: { ...pos.snapshot, attempt: pos.snapshot.attempt + 1 } };
    }
    if (pos.snapshot) {
      const done = yield* this.snapshot(pos, pos.snapshot, ctx);
      if (!done) return;
      pos = done;
    }
    yield* this.stream(pos, ctx);
  }

  /** Nothing to acknowledge: MongoDB keeps no per-reader state (the oplog window is time- or size-bound). */
  async commit(): Promise<void> {}

  async close(): Promise<void> {
    await this.cs?.close().catch(() => undefined);
    this.cs = undefined;
    await this.client?.close().catch(() => undefined);
    this.client = undefined;
  }

  /** Reads the snapshot from `progress` on; returns the position to stream from, or null when stopped first. */
  private async *snapshot(base: MongoPosition, progress: SnapshotProgress, ctx: SourceContext<MongoPosition>): AsyncGenerator<SourceBatch<MongoPosition>, MongoPosition | null> {
    const { spec, d } = this;
    const client = this.client!;
    const { attempt, collections } = progress;
    d.log.info({ attempt, collections, from: { index: progress.index, lastId: progress.lastId } }, "snapshot started");
    let seq = 0;
    const tsMs = Date.now();
    const at = (index: number, lastId: SnapshotProgress["lastId"]): MongoPosition => ({ ...base, snapshot: { attempt, collections, index, lastId } });
    try {
      for (let index = progress.index; index < collections.length; index++) {
        const ns = collections[index]!;
        const [db, coll] = splitNamespace(ns);
        const from = index === progress.index && progress.lastId !== null ? fromStored(progress.lastId) : undefined;
        for await (const docs of readCollection(client, ns, from, spec.snapshotBatchSize, ctx.signal)) {
          const changes: SourceChange[] = new Array(docs.length);
          for (let i = 0; i < docs.length; i++) {
            const p = snapshotPos(base.epoch, attempt, seq++);
            const event = snapshotEvent(this.ectx, db, coll, docs[i]!, p, tsMs);
            changes[i] = { schema: db, table: coll, op: "r", pos: p, event };
          }
          yield { changes, position: at(index, toStored(docs.at(-1)!._id)) };
          if (ctx.signal.aborted) return null;
        }
        if (ctx.signal.aborted) return null;
        if (index + 1 < collections.length) yield { changes: [], position: at(index + 1, null) };
      }
    } catch (err) {
      throw mongoError(err, spec, d.stream.id, "reading the snapshot");
    }
    d.log.info({ documents: seq, attempt }, "snapshot finished");
    const done: MongoPosition = { v: 1, epoch: base.epoch, resume: base.resume };
    yield { changes: [], position: done, durable: true };
    return done;
  }

  /** Streams changes from `from` until stopped or failed. */
  private async *stream(from: MongoPosition, ctx: SourceContext<MongoPosition>): AsyncGenerator<SourceBatch<MongoPosition>, void> {
    const { spec, d } = this;
    const cosmos = spec.compat === "cosmos";
    const gen = cosmos ? Math.max(from.gen ?? 0, genOf(ctx.tail)) + 1 : undefined;
    let seq = 0;
    this.cs = openStream(this.client!, spec, this.plan, from.resume);
    const onStop = () => void this.cs?.close().catch(() => undefined);
    ctx.signal.addEventListener("abort", onStop, { once: true });
    let lastToken = "token" in from.resume ? JSON.stringify(from.resume.token) : "";
    const position = (token: unknown): MongoPosition => {
      const p: MongoPosition = { v: 1, epoch: from.epoch, resume: { token: toStored(token) } };
      if (gen !== undefined) p.gen = gen;
      return p;
    };
    d.log.info({ from: describe(from.resume), scope: this.plan.scope.kind, compat: spec.compat }, "streaming changes");
    ctx.ready();
    try {
      while (!ctx.signal.aborted) {
        const changes: SourceChange[] = [];
        let next = await this.next(from, ctx);
        while (next) {
          changes.push(this.change(next, from.epoch, gen, () => ++seq));
          if (changes.length >= spec.batchSize || this.cs!.bufferedCount() === 0) break;
          next = await this.next(from, ctx);
        }
        if (ctx.signal.aborted) return;
        if (!changes.length && this.cs!.closed) {
          // the server ended the cursor (an invalidate the pipeline filtered out, e.g. under
          // compat cosmos): the driver answers null at once from now on, so this must not loop
          throw new TributaryError(
            "SOURCE_INVALID",
            `MongoDB source ${redactUrl(spec.url)} of stream ${d.stream.id}: the server closed the change stream (its collection or database was dropped or renamed?); its documents may have vanished without delete events. Re-snapshot the stream (POST /v1/streams/${d.stream.id}/snapshot) to start over`,
          );
        }
        const token = this.cs!.resumeToken;
        if (token === null || token === undefined) {
          if (changes.length) throw new TributaryError("SOURCE_INVALID", `MongoDB source ${redactUrl(spec.url)} of stream ${d.stream.id}: the change stream gives no resume token: its position cannot be kept`);
          continue;
        }
        const text = JSON.stringify(toStored(token));
        if (!changes.length && text === lastToken) continue;
        lastToken = text;
        // an idle batch (no changes) still moves the position: the post-batch resume token
        yield { changes, position: position(token) };
      }
    } finally {
      ctx.signal.removeEventListener("abort", onStop);
    }
  }

  /**
   * The next change (null after an empty getMore, or when stopped); driver errors
   * translated. A resumable error (isResumable) reopens the stream where the driver's
   * cached token stands: after the last change handed to us (every one of them is in the
   * batch being built or already yielded), so nothing is skipped or read twice.
   */
  private async next(from: MongoPosition, ctx: SourceContext<MongoPosition>): Promise<Document | null> {
    for (let attempt = 1; ; attempt++) {
      const cs = this.cs!;
      try {
        return await cs.tryNext();
      } catch (err) {
        if (ctx.signal.aborted) return null; // closed by the stop
        if (!isResumable(err) || attempt > RESUME_ATTEMPTS) throw mongoError(err, this.spec, this.d.stream.id, "reading the change stream");
        const token = cs.resumeToken;
        this.d.log.warn({ err, attempt, from: token ? describe({ token: toStored(token) }) : describe(from.resume) }, "change stream failed with a resumable error; resuming from its last token");
        await cs.close().catch(() => undefined);
        if (attempt > 1) await sleep(backoff(attempt - 1, 100, 5000), ctx.signal);
        if (ctx.signal.aborted) return null;
        this.cs = openStream(this.client!, this.spec, this.plan, token ? { token: toStored(token) } : from.resume);
      }
    }
  }

  private change(ev: Document, epoch: number, gen: number | undefined, nextSeq: () => number): SourceChange {
    const { spec, d } = this;
    const type = ev.operationType as string | undefined;
    const ns = (ev.ns ?? {}) as { db?: string; coll?: string };
    const ending = endingOf(ev);
    if (ending !== undefined) {
      throw new TributaryError(
        "SOURCE_INVALID",
        `MongoDB source ${redactUrl(spec.url)} of stream ${d.stream.id}: ${ending}; its documents vanished without delete events. Re-snapshot the stream (POST /v1/streams/${d.stream.id}/snapshot) to start over (empty the targets first if they must lose those documents too)`,
      );
    }
    const op = opOf(ev, spec.compat === "cosmos");
    if (!op) throw new TributaryError("SOURCE_INVALID", `MongoDB source ${redactUrl(spec.url)} of stream ${d.stream.id}: unexpected change stream event "${String(type)}" on ${ns.db}.${ns.coll}`);
    const data = tokenData(ev._id);
    let p: string;
    if (gen !== undefined) p = genPos(epoch, gen, nextSeq());
    else if (data !== undefined) p = tokenPos(epoch, data);
    else throw new TributaryError("SOURCE_INVALID", `MongoDB source ${redactUrl(spec.url)} of stream ${d.stream.id}: a change's resume token has no string _data (MongoDB before 4.2?); use compat: cosmos for servers whose tokens are not ordered`);
    const event = changeEvent(this.ectx, ev, op, p);
    return { schema: event.source.db, table: event.source.table, op, pos: p, event };
  }
}
