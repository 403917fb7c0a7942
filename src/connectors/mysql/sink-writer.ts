/**
 * The MySQL/MariaDB sink (the sink contract's adapter): applies a batch of change events to
 * target tables in ONE transaction together with the sink's offset (the last applied
 * JetStream sequence and the writer's epoch, in `tributary_sink_offsets`), so a replayed
 * batch is skipped record by record: exactly-once effect, and a lower epoch is refused
 * (FENCED). Table creation and new columns (autoCreate) run before the transaction, because
 * DDL commits implicitly in MySQL.
 */
import mysql from "mysql2/promise";
import type { Connection } from "mysql2/promise";
import type { Logger } from "pino";
import { redactUrl } from "../../base/index.js";
import { compileTableTemplate, sinkOffsetKey, type SinkBatch, type SinkOffset, type TargetGroup } from "../../core/index.js";
import { SqlSink, byColumnSet, type BatchStats, type SqlSinkDialect } from "../shared/index.js";
import { connectionOptions, databaseOf } from "./connection.js";
import { SinkWriteError, toSinkError } from "./sink-errors.js";
import { ensureOffsets, lockOffsets, readOffsets, writeOffsets } from "./sink-offsets.js";
import { addColumns, columnTypesFrom, createTable, describeTable, qualifiedName, type TableMeta } from "./sink-schema.js";
import { deleteKeys, emptyTable, upsertRows } from "./sink-statements.js";

/** How to reach and shape the target. */
export interface MysqlSinkWriterOptions {
  /** mysql:// URL naming the target database (where tables without a database in `table` go, and the offsets table). */
  url: string;
  /** Target table template with `{schema}` (the source schema/database) and `{table}`; without a `.` the URL's database. */
  table: string;
  /** Create missing target tables and add missing columns from the events' source types. */
  autoCreate: boolean;
  /** Identity of this sink in its cluster, e.g. `orders.my_main`. */
  sinkId: string;
  /** Its cluster: the row in tributary_sink_offsets is `<cluster>.<sinkId>` (docs/adr/0010). */
  cluster: string;
}

/** MySQL error numbers meaning our cached description of a table is stale: re-read it and retry once. */
const STALE_SCHEMA = new Set([1054, 1146]);

/** Session settings: strict values (errors, not silent truncation), UTC, and 0 stays 0 in AUTO_INCREMENT keys. */
const SESSION_SQL = "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO', time_zone = '+00:00'";

/** The MySQL statements, catalog and error edge the shared SQL sink runs on. */
const dialect: SqlSinkDialect<Connection, TableMeta> = {
  begin: (c) => c.beginTransaction(),
  commit: (c) => c.commit(),
  rollback: (c) => c.rollback(),
  end: (c) => c.end(),
  readOffsets,
  lockOffsets,
  writeOffsets,
  describeTable,
  createTable,
  addColumns,
  columnTypesFrom,
  qualifiedName,
  error: (code, sinkId, table, message, opts) => new SinkWriteError(code, sinkId, table, message, opts),
  toSinkError,
  isStale: (err) => err instanceof SinkWriteError && err.errno !== undefined && STALE_SCHEMA.has(err.errno),
  createdButMissing: "table was created but cannot be found",
};

/** Writes batches of change events into a MySQL/MariaDB database over one connection. */
export class MysqlSinkWriter extends SqlSink<Connection, TableMeta, BatchStats> {
  private constructor(conn: Connection, opts: MysqlSinkWriterOptions, log: Logger) {
    super(conn, opts, log, dialect, compileTableTemplate(opts.table, databaseOf(opts.url)));
    conn.on("error", (err: Error) => {
      this.lost = err;
      log.warn({ err }, "mysql sink connection lost");
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
      await ensureOffsets(conn, opts.sinkId, sinkOffsetKey(opts.cluster, opts.sinkId), log);
      return writer;
    } catch (err) {
      await conn?.end().catch(() => undefined);
      const e = toSinkError(opts.sinkId, undefined, err);
      throw new SinkWriteError(e.code, opts.sinkId, undefined, `${redactUrl(opts.url)}: ${e.message.replace(/^mysql sink [^:]*: /, "")}`, { cause: err, retryable: e.retryable, sqlState: e.sqlState, errno: e.errno });
    }
  }

  protected override newStats(): BatchStats {
    return { truncated: 0, deleted: 0, upserted: 0 };
  }

  /** DDL commits implicitly in MySQL: every target table is made ready before the transaction. */
  protected override async attempt(batch: SinkBatch, offset: SinkOffset): Promise<void> {
    await this.prepareTables(batch);
    await super.attempt(batch, offset);
  }

  /** Before the transaction: every target table exists with every column the batch writes (autoCreate), and its description is cached. */
  private async prepareTables(batch: SinkBatch): Promise<void> {
    for (const group of batch.groups()) {
      await this.prepareTable(group).catch((err: unknown) => {
        throw toSinkError(this.opts.sinkId, qualifiedName(group.target), err);
      });
    }
  }

  /** One table's share of the batch, inside the open transaction (the table was prepared). */
  protected override async applyTable(group: TargetGroup, stats: BatchStats): Promise<void> {
    const { target, records } = group;
    const name = qualifiedName(target);
    const meta = await this.describe(target, true);
    if (!meta) {
      if (records.every((r) => r.event.op === "t")) return;
      throw this.invalid(name, "table does not exist");
    }
    const keyColumns = group.declaredKey ?? meta.primaryKey;
    const plan = group.plan(keyColumns ?? []);
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
}
