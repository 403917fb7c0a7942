/**
 * What the SQL sinks (PostgreSQL, MySQL/MariaDB) share as sink connectors: calls run one
 * at a time over one connection; a batch is applied in ONE transaction with the sink's
 * offset (the kernel's `checkOffset`: a lower epoch is FENCED, records at or below the
 * stored seq are skipped); a stale cached table description is re-read and the batch
 * retried once; `autoCreate` creates tables and adds columns; and a refused row is told
 * apart by its SQLSTATE (class 22/23). A dialect supplies its statements, catalog and error
 * edge as a {@link SqlSinkDialect} and writes one table's share of a batch.
 */
import type { Logger } from "pino";
import type { ErrorCode, TributaryError } from "../../base/index.js";
import { checkOffset, sinkOffsetKey, type SinkBatch, type SinkConnector, type SinkOffset, type SinkRecord, type TablePlan, type TargetGroup, type TargetTable } from "../../core/index.js";
import { applyWholeDocuments, columnsMentioned, hasUniqueKey, neededColumns, type SinkTableMeta } from "./sink-table.js";


/** The options every SQL sink has. */
export interface SqlSinkOptions {
  /** Identity of this sink in its cluster, e.g. `orders.pg_main`. */
  sinkId: string;
  /** The cluster it belongs to: its offset row is keyed `<cluster>.<sinkId>` (`sinkOffsetKey`). */
  cluster: string;
  /** Create missing target tables and add missing columns from the events' source types. */
  autoCreate: boolean;
}

/** What one batch did, for the debug log; a dialect may count more. */
export interface BatchStats {
  truncated: number;
  deleted: number;
  upserted: number;
}

/** A table ready for its share of a batch: described, with every column the plan writes. */
export interface PreparedTable<M> {
  meta: M;
  /** The declared key, else the table's primary key; undefined only when the records are all truncates. */
  keyColumns: string[] | undefined;
  plan: TablePlan;
}

/** A dialect's statements, catalog and error edge, over its connection type `C`. */
export interface SqlSinkDialect<C, M extends SinkTableMeta<{ generated: boolean }>> {
  begin(c: C): Promise<unknown>;
  commit(c: C): Promise<unknown>;
  rollback(c: C): Promise<unknown>;
  /** Closes the connection. */
  end(c: C): Promise<unknown>;
  /** `key`: the offset row's key, `sinkOffsetKey(cluster, sinkId)` */
  readOffsets(c: C, key: string): Promise<SinkOffset>;
  /** Reads the sink's checkpoint row and locks it until the transaction ends. */
  lockOffsets(c: C, key: string): Promise<SinkOffset>;
  writeOffsets(c: C, key: string, cp: SinkOffset): Promise<void>;
  /** The table's description, or undefined when there is no such table. */
  describeTable(c: C, target: TargetTable): Promise<M | undefined>;
  createTable(c: C, target: TargetTable, columns: ReadonlyMap<string, string>, primaryKey: readonly string[]): Promise<void>;
  addColumns(c: C, target: TargetTable, columns: ReadonlyMap<string, string>): Promise<void>;
  /** The target type for each named column, from the records' source types or values. */
  columnTypesFrom(records: readonly SinkRecord[], columns: Iterable<string>): Map<string, string>;
  /** The quoted name used in SQL and in error messages. */
  qualifiedName(t: TargetTable): string;
  /** A new error of the dialect's SinkWriteError class. */
  error(code: ErrorCode, sinkId: string, table: string | undefined, message: string, opts?: { cause?: unknown }): TributaryError;
  /** Wraps anything thrown into the dialect's SinkWriteError (which passes through). */
  toSinkError(sinkId: string, table: string | undefined, err: unknown): TributaryError;
  /** Whether a SinkWriteError means a cached table description is stale (re-read and retry once). */
  isStale(err: unknown): boolean;
  /** The message when a table just created cannot be described. */
  createdButMissing: string;
}

/** Applies batches of change events over one connection; subclasses write a table's share. */
export abstract class SqlSink<C, M extends SinkTableMeta<{ generated: boolean }>, S extends BatchStats> implements SinkConnector {
  /** Set when the connection failed or ended: every later call fails, retryable, until reopened. */
  protected lost: Error | undefined;
  private readonly tables = new Map<string, M>();
  private tail: Promise<unknown> = Promise.resolve();

  protected constructor(
    protected readonly conn: C,
    protected readonly opts: SqlSinkOptions,
    protected readonly log: Logger,
    private readonly dialect: SqlSinkDialect<C, M>,
    /** Target table of a source table (the compiled `table` template). */
    protected readonly resolve: (s: { schema: string; table: string }) => TargetTable,
  ) {}

  /** The target table of a source table (the compiled `table` template). */
  target(source: { schema: string; table: string }): TargetTable {
    return this.resolve(source);
  }

  /** The last committed offset of this sink; `{ seq: 0, epoch: 0 }` if none. */
  readOffset(): Promise<SinkOffset> {
    return this.serial(async () => {
      this.assertConnected();
      try {
        return await this.dialect.readOffsets(this.conn, sinkOffsetKey(this.opts.cluster, this.opts.sinkId));
      } catch (err) {
        throw this.dialect.toSinkError(this.opts.sinkId, undefined, err);
      }
    });
  }

  /**
   * Applies the batch (records in seq order) and stores the offset in one transaction.
   * Records with seq <= the stored seq are skipped, so replaying a batch has no effect. The
   * stored seq becomes the greatest of the stored one, `offset.seq` and the applied records'
   * seqs. Calls are serialized.
   * @throws SinkWriteError: FENCED (not retryable) when `offset.epoch` is lower than the
   * stored epoch (a newer owner has written); SINK_INVALID for data, schema and mapping
   * errors; SINK_UNAVAILABLE (retryable) for connection trouble, deadlocks, lock timeouts and
   * serialization failures. Nothing of the batch's data is committed when it throws.
   */
  apply(batch: SinkBatch, offset: SinkOffset): Promise<void> {
    return this.serial(async () => {
      this.assertConnected();
      try {
        await this.attempt(batch, offset);
      } catch (err) {
        this.tables.clear();
        if (!this.dialect.isStale(err) || this.lost) throw err;
        this.log.warn({ err }, "target table changed under the sink; re-reading it and retrying once");
        await this.attempt(batch, offset).catch((again: unknown) => {
          this.tables.clear();
          throw again;
        });
      }
    });
  }

  /** A data or constraint error (SQLSTATE class 22/23) that one record caused: the kernel dead-letters that record. */
  isRowError(err: unknown): boolean {
    const e = err as { sqlState?: string; retryable?: boolean; code?: string } | null;
    return e?.retryable === false && e.code !== "FENCED" && typeof e.sqlState === "string" && /^(22|23)/.test(e.sqlState);
  }

  /** Closes the connection once the call in progress has ended. */
  async close(): Promise<void> {
    await this.tail.catch(() => undefined);
    await this.dialect.end(this.conn).catch(() => undefined);
  }

  /** The counters of a new batch. */
  protected abstract newStats(): S;

  /** One table's share of the batch (records above the stored seq), inside the open transaction. */
  protected abstract applyTable(group: TargetGroup, stats: S): Promise<void>;

  /** One try of a batch: the transaction (a dialect whose DDL cannot run in it prepares the tables first). */
  protected attempt(batch: SinkBatch, offset: SinkOffset): Promise<void> {
    return this.transaction(batch, offset);
  }

  /**
   * Makes the target table ready for the records: creates it (autoCreate, from the declared
   * key) when missing, finds the key columns, coalesces the records and adds the columns the
   * plan writes. Undefined when the table is missing and the records only truncate it.
   * @throws SinkWriteError SINK_INVALID when the table or a column is missing without
   * autoCreate, no key is known, or an upsert has no unique index on the key.
   */
  protected async prepareTable(group: TargetGroup): Promise<PreparedTable<M> | undefined> {
    const { target, records } = group;
    const name = this.dialect.qualifiedName(target);
    const declared = group.declaredKey;
    let meta = await this.describe(target, true);
    if (!meta) {
      if (!this.opts.autoCreate) throw this.invalid(name, "table does not exist (autoCreate: true would create it from the events' types)");
      if (!declared) {
        if (records.every((r) => r.event.op === "t")) return undefined; // emptying a table not created yet
        throw this.invalid(name, "table does not exist and the events carry no key to make its primary key");
      }
      await this.dialect.createTable(this.conn, target, this.dialect.columnTypesFrom(records, columnsMentioned(records)), declared);
      this.log.info({ table: name, key: declared }, "created target table");
      meta = await this.describe(target, false);
      if (!meta) throw this.invalid(name, this.dialect.createdButMissing);
    }
    const keyColumns = declared ?? meta.primaryKey;
    if (!keyColumns && records.some((r) => r.event.op !== "t")) {
      throw this.invalid(name, "the events carry no key and the table has no primary key");
    }
    const plan = group.plan(keyColumns ?? []);
    if (!keyColumns) return { meta, keyColumns, plan };
    meta = await this.ensureColumns(meta, records, neededColumns(plan, keyColumns));
    applyWholeDocuments(plan, records, keyColumns, meta); // MongoDB documents: absent fields are NULL, not "unchanged"
    if (plan.upserts.length && !hasUniqueKey(meta, keyColumns)) {
      throw this.invalid(name, `no primary key or unique index on the key columns (${keyColumns.join(", ")}); upserts need one`);
    }
    return { meta, keyColumns, plan };
  }

  /** The table's description, from the cache unless `useCache` is false (then re-read and cached). */
  protected async describe(target: TargetTable, useCache: boolean): Promise<M | undefined> {
    const id = JSON.stringify([target.schema, target.table]);
    const cached = useCache ? this.tables.get(id) : undefined;
    if (cached) return cached;
    const meta = await this.dialect.describeTable(this.conn, target);
    if (meta) this.tables.set(id, meta);
    else this.tables.delete(id);
    return meta;
  }

  /** A SINK_INVALID error about one table. */
  protected invalid(table: string, message: string): TributaryError {
    return this.dialect.error("SINK_INVALID", this.opts.sinkId, table, message);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private assertConnected(): void {
    if (this.lost) {
      throw this.dialect.error("SINK_UNAVAILABLE", this.opts.sinkId, undefined, `connection lost (${this.lost.message}); reopen the writer`, { cause: this.lost });
    }
  }

  private async transaction(batch: SinkBatch, offset: SinkOffset): Promise<void> {
    const { sinkId } = this.opts;
    const key = sinkOffsetKey(this.opts.cluster, sinkId);
    const d = this.dialect;
    try {
      await d.begin(this.conn);
      const stored = await d.lockOffsets(this.conn, key);
      const lastRecord = batch.records[batch.records.length - 1]?.seq ?? 0;
      const next = checkOffset(stored, { seq: Math.max(offset.seq, lastRecord), epoch: offset.epoch }, (m) => d.error("FENCED", sinkId, undefined, m));
      const groups = batch.groups(stored.seq);
      const stats = this.newStats();
      let fresh = 0;
      for (const group of groups) {
        fresh += group.records.length;
        await this.applyTable(group, stats).catch((err: unknown) => {
          throw d.toSinkError(sinkId, d.qualifiedName(group.target), err);
        });
      }
      if (next) await d.writeOffsets(this.conn, key, next);
      await d.commit(this.conn);
      if (fresh) this.log.debug({ records: fresh, skipped: batch.records.length - fresh, ...(stats as BatchStats), seq: next?.seq ?? stored.seq }, "batch applied");
    } catch (err) {
      await d.rollback(this.conn).catch(() => undefined);
      throw d.toSinkError(sinkId, undefined, err);
    }
  }

  /** Makes sure every needed column exists: re-reads a stale description, then adds (autoCreate) or fails. */
  private async ensureColumns(meta: M, records: readonly SinkRecord[], needed: Set<string>): Promise<M> {
    const missing = (m: M) => [...needed].filter((c) => !m.columns.has(c));
    if (missing(meta).length === 0) return meta;
    const name = this.dialect.qualifiedName(meta.target);
    let fresh = (await this.describe(meta.target, false)) ?? meta;
    const absent = missing(fresh);
    if (absent.length === 0) return fresh;
    if (!this.opts.autoCreate) {
      throw this.invalid(name, `column(s) ${absent.map((c) => JSON.stringify(c)).join(", ")} missing from the table (autoCreate: true would add them)`);
    }
    await this.dialect.addColumns(this.conn, meta.target, this.dialect.columnTypesFrom(records, absent));
    this.log.info({ table: name, columns: absent }, "added columns to target table");
    fresh = (await this.describe(meta.target, false)) ?? fresh;
    return fresh;
  }
}
