/**
 * The database side of the MySQL/MariaDB sink: applies a batch of change events to target
 * tables in ONE transaction together with the sink's checkpoint (the last applied JetStream
 * sequence and the writer's epoch, in `tributary_sink_offsets`), so a replayed batch is
 * skipped record by record: exactly-once effect, and a lower epoch is refused (FENCED).
 * Table creation and new columns (autoCreate) run before the transaction, because DDL
 * commits implicitly in MySQL.
 */
import mysql from "mysql2/promise";
import type { Connection } from "mysql2/promise";
import type { Logger } from "pino";
import type { Row } from "../../events/change-event.js";
import type { SinkWriter } from "../../runtime/sink-worker.js";
import { coalesceTable, compileTableTemplate, declaredKeyColumns, groupByTarget, type SinkRecord, type TablePlan, type TargetTable } from "../shared/coalesce.js";
import { connectionOptions, databaseOf, redactUrl } from "./connection.js";
import { SinkWriteError, toSinkError } from "./sink-errors.js";
import { ensureOffsets, lockOffsets, readOffsets, writeOffsets, type SinkCheckpoint } from "./sink-offsets.js";
import { addColumns, columnTypesFrom, createTable, describeTable, hasUniqueKey, qualifiedName, type TableMeta } from "./sink-schema.js";
import { deleteKeys, emptyTable, upsertRows } from "./sink-statements.js";

export { SinkWriteError } from "./sink-errors.js";
export type { SinkCheckpoint } from "./sink-offsets.js";

/** How to reach and shape the target. */
export interface MysqlSinkWriterOptions {
  /** mysql:// URL naming the target database (where tables without a database in `table` go, and the offsets table). */
  url: string;
  /** Target table template with `{schema}` (the source schema/database) and `{table}`; without a `.` the URL's database. */
  table: string;
  /** Create missing target tables and add missing columns from the events' source types. */
  autoCreate: boolean;
  /** Identity of this sink (its row in tributary_sink_offsets), e.g. `orders.my_main`. */
  sinkId: string;
}

/** MySQL error numbers meaning our cached description of a table is stale: re-read it and retry once. */
const STALE_SCHEMA = new Set([1054, 1146]);

/** Session settings: strict values (errors, not silent truncation), UTC, and 0 stays 0 in AUTO_INCREMENT keys. */
const SESSION_SQL = "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO', time_zone = '+00:00'";

/** What one batch did, for the debug log. */
interface BatchStats {
  truncated: number;
  deleted: number;
  upserted: number;
}

/** Writes batches of change events into a MySQL/MariaDB database over one connection. */
export class MysqlSinkWriter implements SinkWriter {
  private readonly tables = new Map<string, TableMeta>();
  private readonly resolve: (s: { schema: string; table: string }) => TargetTable;
  private lost: Error | undefined;
  private tail: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly conn: Connection,
    private readonly opts: MysqlSinkWriterOptions,
    private readonly log: Logger,
  ) {
    this.resolve = compileTableTemplate(opts.table, databaseOf(opts.url));
    conn.on("error", (err: Error) => {
      this.lost = err;
      log.warn({ err: err.message }, "mysql sink connection lost");
    });
  }

  /**
   * Connects, sets the session up and creates the offsets table and this sink's row if missing.
   * @throws SinkWriteError (retryable when the database is unreachable; not for a bad template,
   * a URL without a database, or refused credentials).
   */
  static async open(opts: MysqlSinkWriterOptions, log: Logger): Promise<MysqlSinkWriter> {
    if (!databaseOf(opts.url)) throw new SinkWriteError("CONFIG_INVALID", opts.sinkId, undefined, `the URL ${redactUrl(opts.url)} names no database (mysql://user:pass@host:3306/<database>)`);
    try {
      compileTableTemplate(opts.table);
    } catch (err) {
      throw new SinkWriteError("CONFIG_INVALID", opts.sinkId, undefined, (err as Error).message, { cause: err });
    }
    let conn: Connection | undefined;
    try {
      conn = await mysql.createConnection(connectionOptions(opts.url));
      const writer = new MysqlSinkWriter(conn, opts, log);
      await conn.query(SESSION_SQL);
      await ensureOffsets(conn, opts.sinkId);
      return writer;
    } catch (err) {
      await conn?.end().catch(() => undefined);
      const e = toSinkError(opts.sinkId, undefined, err);
      throw new SinkWriteError(e.code, opts.sinkId, undefined, `${redactUrl(opts.url)}: ${e.message.replace(/^mysql sink [^:]*: /, "")}`, { cause: err, retryable: e.retryable, sqlState: e.sqlState, errno: e.errno });
    }
  }

  /** The last committed checkpoint of this sink; `{ seq: 0, epoch: 0 }` if none. */
  readCheckpoint(): Promise<SinkCheckpoint> {
    return this.serial(async () => {
      this.assertConnected();
      try {
        return await readOffsets(this.conn, this.opts.sinkId);
      } catch (err) {
        throw toSinkError(this.opts.sinkId, undefined, err);
      }
    });
  }

  /**
   * Applies the records (in seq order) and stores the checkpoint in one transaction. Records
   * with seq <= the stored seq are skipped, so replaying a batch has no effect. The stored
   * seq becomes the greatest of the stored one, `checkpoint.seq` and the applied records'.
   * Calls are serialized.
   * @throws SinkWriteError: FENCED (not retryable) when `checkpoint.epoch` is lower than the
   * stored epoch; SINK_INVALID for data (SQLSTATE 22/23), schema and mapping errors;
   * SINK_UNAVAILABLE (retryable) for connection trouble, deadlocks, lock timeouts. Nothing
   * of the batch's data is committed when it throws.
   */
  applyBatch(records: readonly SinkRecord[], checkpoint: SinkCheckpoint): Promise<void> {
    return this.serial(async () => {
      this.assertConnected();
      try {
        await this.prepareTables(records);
        await this.transaction(records, checkpoint);
      } catch (err) {
        this.tables.clear();
        const stale = err instanceof SinkWriteError && err.errno !== undefined && STALE_SCHEMA.has(err.errno);
        if (!stale || this.lost) throw err;
        this.log.info({ err: err.message }, "target table changed under the sink; re-reading it and retrying once");
        try {
          await this.prepareTables(records);
          await this.transaction(records, checkpoint);
        } catch (again) {
          this.tables.clear();
          throw again;
        }
      }
    });
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    await this.tail.catch(() => undefined);
    await this.conn.end().catch(() => undefined);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private assertConnected(): void {
    if (this.lost) {
      throw new SinkWriteError("SINK_UNAVAILABLE", this.opts.sinkId, undefined, `connection lost (${this.lost.message}); reopen the writer`, { cause: this.lost });
    }
  }

  /** Before the transaction: every target table exists with every column the batch writes (autoCreate), and its description is cached. */
  private async prepareTables(records: readonly SinkRecord[]): Promise<void> {
    for (const { target, records: group } of groupByTarget(records, this.resolve).values()) {
      const name = qualifiedName(target);
      try {
        const declared = declaredKeyColumns(group);
        let meta = await this.describe(target, true);
        if (!meta) {
          if (!this.opts.autoCreate) throw this.invalid(name, "table does not exist (autoCreate: true would create it from the events' types)");
          if (!declared) {
            if (group.every((r) => r.event.op === "t")) continue; // emptying a table not created yet
            throw this.invalid(name, "table does not exist and the events carry no key to make its primary key");
          }
          const columns = columnsMentioned(group);
          await createTable(this.conn, target, columnTypesFrom(group, columns), declared);
          this.log.info({ table: name, key: declared }, "created target table");
          meta = await this.describe(target, false);
          if (!meta) throw this.invalid(name, "table was created but cannot be found");
        }
        const keyColumns = declared ?? meta.primaryKey;
        if (!keyColumns) {
          if (group.some((r) => r.event.op !== "t")) throw this.invalid(name, "the events carry no key and the table has no primary key");
          continue;
        }
        const plan = coalesceTable(group, keyColumns);
        const needed = neededColumns(plan, keyColumns);
        meta = await this.ensureColumns(meta, group, needed);
        if (plan.upserts.length && !hasUniqueKey(meta, keyColumns)) {
          throw this.invalid(name, `no primary key or unique index on the key columns (${keyColumns.join(", ")}); upserts need one`);
        }
      } catch (err) {
        throw toSinkError(this.opts.sinkId, name, err);
      }
    }
  }

  private async transaction(records: readonly SinkRecord[], checkpoint: SinkCheckpoint): Promise<void> {
    const { sinkId } = this.opts;
    try {
      await this.conn.beginTransaction();
      const stored = await lockOffsets(this.conn, sinkId);
      if (checkpoint.epoch < stored.epoch) {
        throw new SinkWriteError("FENCED", sinkId, undefined, `epoch ${checkpoint.epoch} is older than the stored epoch ${stored.epoch}: another owner has written`);
      }
      const fresh = records.filter((r) => r.seq > stored.seq);
      const stats: BatchStats = { truncated: 0, deleted: 0, upserted: 0 };
      for (const { target, records: group } of groupByTarget(fresh, this.resolve).values()) {
        await this.applyTable(target, group, stats).catch((err: unknown) => {
          throw toSinkError(sinkId, qualifiedName(target), err);
        });
      }
      const next = {
        seq: Math.max(stored.seq, checkpoint.seq, ...fresh.map((r) => r.seq)),
        epoch: Math.max(stored.epoch, checkpoint.epoch),
      };
      if (next.seq !== stored.seq || next.epoch !== stored.epoch) await writeOffsets(this.conn, sinkId, next);
      await this.conn.commit();
      if (fresh.length) this.log.debug({ records: fresh.length, skipped: records.length - fresh.length, ...stats, seq: next.seq }, "batch applied");
    } catch (err) {
      await this.conn.rollback().catch(() => undefined);
      throw toSinkError(sinkId, undefined, err);
    }
  }

  /** One table's share of the batch, inside the open transaction (the table was prepared). */
  private async applyTable(target: TargetTable, records: SinkRecord[], stats: BatchStats): Promise<void> {
    const name = qualifiedName(target);
    const meta = await this.describe(target, true);
    if (!meta) {
      if (records.every((r) => r.event.op === "t")) return;
      throw this.invalid(name, "table does not exist");
    }
    const keyColumns = declaredKeyColumns(records) ?? meta.primaryKey;
    const plan = coalesceTable(records, keyColumns ?? []);
    if (plan.truncate) {
      await emptyTable(this.conn, meta);
      stats.truncated++;
    }
    if (!keyColumns) return;
    if (plan.deletes.length) await deleteKeys(this.conn, meta, keyColumns, plan.deletes);
    stats.deleted += plan.deletes.length;
    for (const [columns, rows] of byColumnSet(plan.upserts, meta)) {
      await upsertRows(this.conn, meta, keyColumns, columns, rows);
      stats.upserted += rows.length;
    }
  }

  /** Makes sure every needed column exists: re-reads a stale description, then adds (autoCreate) or fails. */
  private async ensureColumns(meta: TableMeta, records: SinkRecord[], needed: Set<string>): Promise<TableMeta> {
    const missing = (m: TableMeta) => [...needed].filter((c) => !m.columns.has(c));
    if (missing(meta).length === 0) return meta;
    const name = qualifiedName(meta.target);
    let fresh = (await this.describe(meta.target, false)) ?? meta;
    const absent = missing(fresh);
    if (absent.length === 0) return fresh;
    if (!this.opts.autoCreate) {
      throw this.invalid(name, `column(s) ${absent.map((c) => JSON.stringify(c)).join(", ")} missing from the table (autoCreate: true would add them)`);
    }
    await addColumns(this.conn, meta.target, columnTypesFrom(records, absent));
    this.log.info({ table: name, columns: absent }, "added columns to target table");
    fresh = (await this.describe(meta.target, false)) ?? fresh;
    return fresh;
  }

  private async describe(target: TargetTable, useCache: boolean): Promise<TableMeta | undefined> {
    const id = JSON.stringify([target.schema, target.table]);
    const cached = useCache ? this.tables.get(id) : undefined;
    if (cached) return cached;
    const meta = await describeTable(this.conn, target);
    if (meta) this.tables.set(id, meta);
    else this.tables.delete(id);
    return meta;
  }

  private invalid(table: string, message: string): SinkWriteError {
    return new SinkWriteError("SINK_INVALID", this.opts.sinkId, table, message);
  }
}

/** Key columns plus every column an upsert writes. */
function neededColumns(plan: TablePlan, keyColumns: readonly string[]): Set<string> {
  const needed = new Set<string>(plan.deletes.length || plan.upserts.length ? keyColumns : []);
  for (const row of plan.upserts) for (const c of Object.keys(row)) needed.add(c);
  return needed;
}

/** Every column the records mention (`types`, images, keys), in order of first mention: source order. */
function columnsMentioned(records: readonly SinkRecord[]): string[] {
  const seen = new Set<string>();
  for (const { event } of records) {
    for (const row of [event.types, event.after, event.before, event.key]) {
      for (const c of Object.keys(row ?? {})) seen.add(c);
    }
  }
  return [...seen];
}

/** Groups upsert rows by their set of present, writable columns (in table order), in order of first appearance. */
function byColumnSet(rows: readonly Row[], meta: TableMeta): Array<readonly [string[], Row[]]> {
  const groups = new Map<string, { columns: string[]; rows: Row[] }>();
  for (const row of rows) {
    const columns = [...meta.columns].filter(([c, m]) => !m.generated && Object.hasOwn(row, c)).map(([c]) => c);
    const sig = JSON.stringify(columns);
    let g = groups.get(sig);
    if (!g) groups.set(sig, (g = { columns, rows: [] }));
    g.rows.push(row);
  }
  return [...groups.values()].map((g) => [g.columns, g.rows] as const);
}
