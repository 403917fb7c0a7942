/**
 * The MongoDB sink (the sink contract's adapter): a batch becomes one ordered bulkWrite per
 * target collection (sink-plan.ts) and the sink's offset document (sink-offsets.ts).
 * - Replica set (or mongos): both in ONE transaction. Inside it the stored offset is read,
 *   `checkOffset` refuses an older epoch (FENCED) and skips records at or below the stored
 *   seq, so a replay changes nothing (ADR 0005's guarantee). A failure aborts everything.
 * - Standalone server, or `transactions: off` (no transactions): the offset is read and checked first, the
 *   collections are written, then the offset with an epoch-checked update. A crash in
 *   between replays the batch: replaces and deletes by key are idempotent, so the effect is
 *   the same (at-least-once window of one batch); a stale owner frozen after its check can
 *   write one batch before the offset update refuses it (docs/adr/0009).
 * Refused records (MongoRowError, or the server's data errors) are row errors: the kernel
 * retries record by record and dead-letters them.
 */
import { MongoBulkWriteError, MongoClient, MongoError, MongoNetworkError, MongoServerError, MongoServerSelectionError, type ClientSession, type Document } from "mongodb";
import { redactText, redactUrl, TributaryError } from "../../base/index.js";
import { checkOffset, type SinkBatch, type SinkConnector, type SinkDeps, type SinkOffset, type TargetTable } from "../../core/index.js";
import type { MongoSinkSpec } from "./schema-sink.js";
import { collectionNameProblem, compileCollectionTemplate, databaseNameProblem, parseNamespace, type Namespace } from "./sink-namespace.js";
import { OffsetStore, type OffsetDoc } from "./sink-offsets.js";
import { MongoRowError, planCollection } from "./sink-plan.js";

/**
 * Server error codes that refuse a document for its data: duplicate key on another unique
 * index (11000/11001), bad value (2), type mismatch (14), document too large (10334, 17419,
 * 17420), key too long (17280), `$`/empty/dotted field names (52, 56, 57), validation (121),
 * immutable field (66), array or regex `_id` (53).
 */
const ROW_CODES = new Set([2, 14, 52, 53, 56, 57, 66, 121, 10334, 11000, 11001, 17280, 17419, 17420]);

/** Server error codes that pass (primary changes, interruptions, timeouts, write conflicts). */
const TRANSIENT_CODES = new Set([6, 7, 50, 89, 91, 112, 189, 251, 262, 9001, 10107, 11600, 11602, 13435, 13436, 63, 150, 13388, 234, 133, 43]);

/** Whether the server's reply says it can run transactions (a replica set member or mongos). */
function supportsTransactions(hello: Document): boolean {
  return typeof hello.setName === "string" || hello.msg === "isdbgrid";
}

/** A sink writing change events into MongoDB collections. */
export class MongoSink implements SinkConnector {
  private readonly resolve: (s: { schema: string; table: string }) => Namespace;
  private readonly where: string;

  private constructor(
    private readonly spec: MongoSinkSpec,
    private readonly d: SinkDeps,
    private readonly client: MongoClient,
    private readonly offsets: OffsetStore,
    /** batch and offset commit in one transaction */
    readonly transactions: boolean,
  ) {
    this.resolve = compileCollectionTemplate(spec.collection);
    this.where = `MongoDB sink ${d.sinkId} (${redactUrl(spec.url)})`;
  }

  /**
   * Connects and finds out whether the target runs transactions.
   * @throws TributaryError SINK_UNAVAILABLE (unreachable) or SINK_INVALID (refused sign-in, bad URL option).
   */
  static async open(spec: MongoSinkSpec, d: SinkDeps): Promise<MongoSink> {
    const where = `MongoDB sink ${d.sinkId} (${redactUrl(spec.url)})`;
    let client: MongoClient;
    try {
      client = new MongoClient(spec.url, { appName: `tributary-sink-${d.sinkId}`, serverSelectionTimeoutMS: 15_000 });
    } catch (err) {
      throw new TributaryError("SINK_INVALID", `${where}: the connection string is refused: ${redactText((err as Error).message)}`, { cause: err });
    }
    try {
      await client.connect();
      const hello = await client.db("admin").command({ hello: 1 });
      const ns = parseNamespace(spec.offsets);
      const coll = client.db(ns.db).collection<OffsetDoc>(ns.collection);
      const transactions = spec.transactions === "auto" && supportsTransactions(hello);
      const sink = new MongoSink(spec, d, client, new OffsetStore(coll, `${d.cluster}.${d.sinkId}`, d.cluster, d.sinkId), transactions);
      d.log.info({ transactions: sink.transactions, offsets: spec.offsets }, sink.transactions ? "MongoDB sink: batches and offsets commit in one transaction" : "MongoDB sink: no transactions (standalone server, or transactions: off): offsets are written after each batch (at-least-once window of one batch)");
      return sink;
    } catch (err) {
      await client.close().catch(() => undefined);
      throw sinkError(err, where, "connecting");
    }
  }

  target(source: { schema: string; table: string }): TargetTable {
    const ns = this.resolve(source);
    return { schema: ns.db, table: ns.collection };
  }

  async readOffset(): Promise<SinkOffset> {
    try {
      return await this.offsets.read();
    } catch (err) {
      throw sinkError(err, this.where, `reading the sink's offset document in ${this.spec.offsets}`);
    }
  }

  /**
   * Applies the batch and the offset (see the module comment).
   * @throws MongoRowError when a record cannot be written for its data; TributaryError
   * FENCED when a newer owner has written, SINK_UNAVAILABLE (retryable) or SINK_INVALID otherwise.
   */
  async apply(batch: SinkBatch, offset: SinkOffset): Promise<void> {
    const lastRecord = batch.records[batch.records.length - 1]?.seq ?? 0;
    const ours = { seq: Math.max(offset.seq, lastRecord), epoch: offset.epoch };
    try {
      if (!this.transactions) {
        const stored = await this.offsets.read();
        const next = this.check(stored, ours);
        await this.write(batch, stored.seq);
        if (next) await this.offsets.write(next);
        return;
      }
      const session = this.client.startSession();
      try {
        await session.withTransaction(
          async () => {
            const stored = await this.offsets.read(session);
            const next = this.check(stored, ours);
            await this.write(batch, stored.seq, session);
            if (next) await this.offsets.write(next, session);
          },
          { readConcern: { level: "snapshot" }, writeConcern: { w: "majority" }, readPreference: "primary" },
        );
      } finally {
        await session.endSession().catch(() => undefined);
      }
    } catch (err) {
      if (err instanceof MongoRowError || err instanceof TributaryError) throw err;
      throw sinkError(err, this.where, "applying a batch");
    }
  }

  isRowError(err: unknown): boolean {
    return err instanceof MongoRowError;
  }

  async close(): Promise<void> {
    await this.client.close().catch(() => undefined);
  }

  private check(stored: SinkOffset, ours: SinkOffset): SinkOffset | null {
    return checkOffset(stored, ours, (m) => new TributaryError("FENCED", `sink ${this.d.sinkId}: ${m}`));
  }

  /** Writes every collection's share of the records above `storedSeq`, one ordered bulkWrite each. */
  private async write(batch: SinkBatch, storedSeq: number, session?: ClientSession): Promise<void> {
    let written = 0;
    for (const group of batch.groups(storedSeq)) {
      const ns = { db: group.target.schema, collection: group.target.table };
      const problem = databaseNameProblem(ns.db) ?? collectionNameProblem(ns.collection);
      const seqs = group.records.map((r) => r.seq);
      if (problem) throw new MongoRowError(`event seq ${seqs.join(", ")}: target ${ns.db}.${ns.collection}: ${problem}`, seqs);
      const plan = planCollection(group.records);
      if (plan.ops.length === 0) continue;
      try {
        await this.client.db(ns.db).collection(ns.collection).bulkWrite(plan.ops, { ordered: true, ...(session ? { session } : {}) });
      } catch (err) {
        throw rowErrorOf(err, plan.seqs, ns) ?? err;
      }
      written += plan.ops.length;
    }
    if (written) this.d.log.debug({ operations: written }, "batch written");
  }
}

/** The server's refusal of records for their data as a MongoRowError naming them, else undefined. */
function rowErrorOf(err: unknown, seqs: number[][], ns: Namespace): MongoRowError | undefined {
  const writeErrors = err instanceof MongoBulkWriteError ? (Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors]) : [];
  if (writeErrors.length > 0 && writeErrors.every((w) => ROW_CODES.has(w.code))) {
    const refused = writeErrors.map((w) => ({ seqs: seqs[w.index] ?? [], code: w.code, message: w.errmsg ?? "" }));
    const text = refused.slice(0, 3).map((r) => `event seq ${r.seqs.join(", ")}: ${r.message} (code ${r.code})`).join("; ");
    return new MongoRowError(`MongoDB refused ${refused.length} write(s) in ${ns.db}.${ns.collection}: ${text}`, refused.flatMap((r) => r.seqs));
  }
  if (err instanceof MongoServerError && writeErrors.length === 0 && typeof err.code === "number" && ROW_CODES.has(err.code)) {
    const all = seqs.flat();
    return new MongoRowError(`MongoDB refused a write in ${ns.db}.${ns.collection} (event seq ${all.join(", ")}): ${err.message} (code ${err.code})`, all);
  }
  return undefined;
}

/** Whether a driver error may pass if tried again (network, primary change, transient transaction error). */
function isTransient(err: unknown): boolean {
  if (err instanceof MongoNetworkError || err instanceof MongoServerSelectionError) return true;
  if (err instanceof MongoError) {
    if (err.hasErrorLabel("TransientTransactionError") || err.hasErrorLabel("RetryableWriteError") || err.hasErrorLabel("UnknownTransactionCommitResult")) return true;
    if (typeof err.code === "number" && TRANSIENT_CODES.has(err.code)) return true;
    if (err.name === "MongoTopologyClosedError" || err.name === "MongoNotConnectedError" || err.name === "MongoNetworkTimeoutError" || err.name === "MongoOperationTimeoutError") return true;
  }
  return false;
}

/** A driver error as a TributaryError naming the sink, what it was doing and the server's code. */
function sinkError(err: unknown, where: string, doing: string): TributaryError {
  if (err instanceof TributaryError) return err;
  const e = err as { message?: string; code?: unknown };
  const code = typeof e?.code === "number" ? ` (code ${e.code})` : "";
  const text = `${where}: ${doing}: ${redactText(e?.message ?? String(err))}${code}`;
  if (isTransient(err)) return new TributaryError("SINK_UNAVAILABLE", text, { cause: err });
  if (err instanceof MongoServerError) return new TributaryError("SINK_INVALID", text, { cause: err });
  return new TributaryError("SINK_UNAVAILABLE", text, { cause: err });
}
