/**
 * The PostgreSQL sink (the sink contract's adapter): applies a batch of change events to
 * target tables in ONE transaction together with the sink's offset (the last applied
 * JetStream sequence and the writer's epoch, in `tributary.sink_offsets`), so a replayed
 * batch is skipped record by record: exactly-once effect. The sink kernel drives it; it
 * does no retries itself beyond one re-read of a stale table description.
 */
import pg from "pg";
import type { Logger } from "pino";
import { compileTableTemplate, sinkOffsetKey, type TargetGroup } from "../../core/index.js";
import { SqlSink, byColumnSet, type BatchStats as SharedBatchStats, type SqlSinkDialect } from "../shared/index.js";
import { SinkWriteError, toSinkError } from "./sink-errors.js";
import { addColumns, columnTypesFrom, createTable, describeTable, qualifiedName, type TableMeta } from "./sink-schema.js";
import { deleteKeys, truncateTable, upsertRows } from "./sink-statements.js";
import { adoptLegacyOffset, ensureOffsetsTable, lockOffsets, readOffsets, writeOffsets } from "./sink-offsets.js";

/** How to reach and shape the target. */
export interface PostgresSinkWriterOptions {
  /** postgres:// URL of the target database. */
  url: string;
  /**
   * Target table template with `{schema}` and `{table}` placeholders, e.g. `{schema}.{table}`
   * or `public.{table}_copy`; without a `.` the schema is `public`.
   */
  table: string;
  /** Create missing target tables and add missing columns from the events' source types. */
  autoCreate: boolean;
  /** Identity of this sink in its cluster, e.g. `orders.pg_main`. */
  sinkId: string;
  /** Its cluster: the row in tributary.sink_offsets is `<cluster>.<sinkId>` (docs/adr/0010). */
  cluster: string;
  /**
   * Upserts of this many rows or more to one table (with one column set) go through COPY
   * into a staging table instead of multi-row VALUES.
   * @default 2000
   */
  copyThreshold?: number;
}

/** What one batch did, for the debug log. */
interface BatchStats extends SharedBatchStats {
  /** Of `upserted`, rows written through COPY. */
  copied: number;
}

/** SQLSTATEs that mean our cached description of a table is stale: re-read it and retry once. */
const STALE_SCHEMA = new Set(["42P01", "42703", "42P10"]);

/** The PostgreSQL statements, catalog and error edge the shared SQL sink runs on. */
const dialect: SqlSinkDialect<pg.Client, TableMeta> = {
  begin: (c) => c.query("BEGIN"),
  commit: (c) => c.query("COMMIT"),
  rollback: (c) => c.query("ROLLBACK"),
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
  isStale: (err) => err instanceof SinkWriteError && err.sqlState !== undefined && STALE_SCHEMA.has(err.sqlState),
  createdButMissing: "table was created but cannot be found (name longer than 63 bytes?)",
};

/** Writes batches of change events into a PostgreSQL database over one connection. */
export class PostgresSinkWriter extends SqlSink<pg.Client, TableMeta, BatchStats> {
  private readonly copyThreshold: number;

  private constructor(client: pg.Client, opts: PostgresSinkWriterOptions, log: Logger) {
    super(client, opts, log, dialect, compileTableTemplate(opts.table));
    this.copyThreshold = opts.copyThreshold ?? 2000;
    // Without a listener an idle connection's failure would crash the process.
    client.on("error", (err) => {
      this.lost = err;
      log.warn({ err }, "postgres sink connection lost");
    });
    client.on("end", () => {
      this.lost ??= new Error("connection ended");
    });
  }

  /**
   * Connects and creates `tributary.sink_offsets` if missing.
   * @throws SinkWriteError (retryable when the database is unreachable; not for a bad template).
   */
  static async open(opts: PostgresSinkWriterOptions, log: Logger): Promise<PostgresSinkWriter> {
    try {
      compileTableTemplate(opts.table);
    } catch (err) {
      throw new SinkWriteError("CONFIG_INVALID", opts.sinkId, undefined, (err as Error).message, { cause: err });
    }
    const client = new pg.Client({ connectionString: opts.url, application_name: `tributary sink ${opts.sinkId}`.slice(0, 63) });
    const writer = new PostgresSinkWriter(client, opts, log);
    try {
      await client.connect();
      await ensureOffsetsTable(client);
      await adoptLegacyOffset(client, opts.sinkId, sinkOffsetKey(opts.cluster, opts.sinkId), log);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw toSinkError(opts.sinkId, undefined, err);
    }
    return writer;
  }

  protected override newStats(): BatchStats {
    return { truncated: 0, deleted: 0, upserted: 0, copied: 0 };
  }

  /** One table's share of the batch, inside the open transaction (DDL included: it is transactional here). */
  protected override async applyTable(group: TargetGroup, stats: BatchStats): Promise<void> {
    const prepared = await this.prepareTable(group);
    if (!prepared) return;
    const { meta, keyColumns, plan } = prepared;
    if (plan.truncate) {
      await truncateTable(this.conn, meta);
      stats.truncated++;
    }
    if (!keyColumns) return;
    if (plan.deletes.length) await deleteKeys(this.conn, meta, keyColumns, plan.deletes);
    stats.deleted += plan.deletes.length;
    for (const [columns, rows] of byColumnSet(plan.upserts, meta)) {
      const how = await upsertRows(this.conn, meta, keyColumns, columns, rows, { copyThreshold: this.copyThreshold });
      stats.upserted += rows.length;
      if (how === "copy") stats.copied += rows.length;
    }
  }
}
