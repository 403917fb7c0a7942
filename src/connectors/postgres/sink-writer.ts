/**
 * The database side of the PostgreSQL sink: applies a batch of change events to target
 * tables in ONE transaction together with the sink's checkpoint (the last applied JetStream
 * sequence, in `tributary.sink_offsets`), so a replayed batch is skipped record by record:
 * exactly-once effect. The NATS consumer and the sink machine drive it; it does no retries
 * itself beyond one re-read of a stale table description.
 */
import pg from "pg";
import type { Logger } from "pino";
import type { Row } from "../../events/change-event.js";
import { coalesceTable, compileTableTemplate, declaredKeyColumns, groupByTarget, type SinkRecord, type TargetTable } from "./coalesce.js";
import { SinkWriteError, toSinkError } from "./sink-errors.js";
import { addColumns, columnsMentioned, columnTypesFrom, createTable, describeTable, hasUniqueKey, qualifiedName, type TableMeta } from "./sink-schema.js";
import { deleteKeys, truncateTable, upsertRows } from "./sink-statements.js";
import { ensureOffsetsTable, lockOffsets, readOffsets, writeOffsets, type SinkCheckpoint } from "./sink-offsets.js";

export type { SinkRecord } from "./coalesce.js";
export type { SinkCheckpoint } from "./sink-offsets.js";
export { SinkWriteError } from "./sink-errors.js";

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
  /** Identity of this sink (its row in tributary.sink_offsets), e.g. `orders.pg_main`. */
  sinkId: string;
  /**
   * Upserts of this many rows or more to one table (with one column set) go through COPY
   * into a staging table instead of multi-row VALUES.
   * @default 2000
   */
  copyThreshold?: number;
}

/** What one batch did, for the debug log. */
interface BatchStats {
  truncated: number;
  deleted: number;
  upserted: number;
  /** Of `upserted`, rows written through COPY. */
  copied: number;
}

/** SQLSTATEs that mean our cached description of a table is stale: re-read it and retry once. */
const STALE_SCHEMA = new Set(["42P01", "42703", "42P10"]);

/** Writes batches of change events into a PostgreSQL database over one connection. */
export class PostgresSinkWriter {
  private readonly tables = new Map<string, TableMeta>();
  private readonly resolve: (s: { schema: string; table: string }) => TargetTable;
  private lost: Error | undefined;
  private tail: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly client: pg.Client,
    private readonly opts: PostgresSinkWriterOptions,
    private readonly log: Logger,
  ) {
    this.resolve = compileTableTemplate(opts.table);
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
    } catch (err) {
      await client.end().catch(() => undefined);
      throw toSinkError(opts.sinkId, undefined, err);
    }
    return writer;
  }

  /** The last committed checkpoint of this sink; `{ seq: 0, epoch: 0 }` if none. */
  readCheckpoint(): Promise<SinkCheckpoint> {
    return this.serial(async () => {
      this.assertConnected();
      try {
        return await readOffsets(this.client, this.opts.sinkId);
      } catch (err) {
        throw toSinkError(this.opts.sinkId, undefined, err);
      }
    });
  }

  /**
   * Applies the records (in seq order) and stores the checkpoint in one transaction. Records
   * with seq <= the stored seq are skipped, so replaying a batch has no effect. The stored seq
   * becomes the greatest of the stored one, `checkpoint.seq` and the applied records' seqs.
   * Calls are serialized.
   * @throws SinkWriteError: FENCED (not retryable) when `checkpoint.epoch` is lower than the
   * stored epoch (a newer owner has written); SINK_INVALID for data, schema and mapping
   * errors; SINK_UNAVAILABLE (retryable) for connection trouble, deadlocks, serialization
   * failures. Nothing of the batch is committed when it throws.
   */
  applyBatch(records: readonly SinkRecord[], checkpoint: SinkCheckpoint): Promise<void> {
    return this.serial(async () => {
      this.assertConnected();
      try {
        await this.transaction(records, checkpoint);
      } catch (err) {
        this.tables.clear();
        const stale = err instanceof SinkWriteError && err.sqlState !== undefined && STALE_SCHEMA.has(err.sqlState);
        if (!stale || this.lost) throw err;
        this.log.info({ err: err.message }, "target table changed under the sink; re-reading it and retrying once");
        await this.transaction(records, checkpoint).catch((again: unknown) => {
          this.tables.clear();
          throw again;
        });
      }
    });
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    await this.tail.catch(() => undefined);
    await this.client.end().catch(() => undefined);
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

  private async transaction(records: readonly SinkRecord[], checkpoint: SinkCheckpoint): Promise<void> {
    const { sinkId } = this.opts;
    try {
      await this.client.query("BEGIN");
      const stored = await lockOffsets(this.client, sinkId);
      if (checkpoint.epoch < stored.epoch) {
        throw new SinkWriteError("FENCED", sinkId, undefined, `epoch ${checkpoint.epoch} is older than the stored epoch ${stored.epoch}: another owner has written`);
      }
      const fresh = records.filter((r) => r.seq > stored.seq);
      const stats: BatchStats = { truncated: 0, deleted: 0, upserted: 0, copied: 0 };
      for (const { target, records: group } of groupByTarget(fresh, this.resolve).values()) {
        await this.applyTable(target, group, stats).catch((err: unknown) => {
          throw toSinkError(sinkId, qualifiedName(target), err);
        });
      }
      const next = {
        seq: Math.max(stored.seq, checkpoint.seq, ...fresh.map((r) => r.seq)),
        epoch: Math.max(stored.epoch, checkpoint.epoch),
      };
      if (next.seq !== stored.seq || next.epoch !== stored.epoch) await writeOffsets(this.client, sinkId, next);
      await this.client.query("COMMIT");
      if (fresh.length) this.log.debug({ records: fresh.length, skipped: records.length - fresh.length, ...stats, seq: next.seq }, "batch applied");
    } catch (err) {
      await this.client.query("ROLLBACK").catch(() => undefined);
      throw toSinkError(sinkId, undefined, err);
    }
  }

  /** One table's share of the batch, inside the open transaction. */
  private async applyTable(target: TargetTable, records: SinkRecord[], stats: BatchStats): Promise<void> {
    const name = qualifiedName(target);
    const declared = declaredKeyColumns(records);
    let meta = await this.describe(target, true);
    if (!meta) {
      if (!this.opts.autoCreate) throw this.invalid(name, "table does not exist (autoCreate: true would create it from the events' types)");
      if (!declared) {
        if (records.every((r) => r.event.op === "t")) return; // truncating a table not created yet
        throw this.invalid(name, "table does not exist and the events carry no key to make its primary key");
      }
      await createTable(this.client, target, columnTypesFrom(records, columnsMentioned(records)), declared);
      this.log.info({ table: name, key: declared }, "created target table");
      meta = await this.describe(target, false);
      if (!meta) throw this.invalid(name, "table was created but cannot be found (name longer than 63 bytes?)");
    }
    const keyColumns = declared ?? meta.primaryKey;
    if (!keyColumns && records.some((r) => r.event.op !== "t")) {
      throw this.invalid(name, "the events carry no key and the table has no primary key");
    }
    const plan = coalesceTable(records, keyColumns ?? []);
    if (plan.truncate) stats.truncated++;
    if (!keyColumns) {
      if (plan.truncate) await truncateTable(this.client, meta);
      return;
    }

    const needed = new Set<string>(plan.deletes.length || plan.upserts.length ? keyColumns : []);
    for (const row of plan.upserts) for (const c of Object.keys(row)) needed.add(c);
    meta = await this.ensureColumns(meta, records, needed);
    if (plan.upserts.length && !hasUniqueKey(meta, keyColumns)) {
      throw this.invalid(name, `no primary key or unique index on the key columns (${keyColumns.join(", ")}); upserts need one`);
    }

    if (plan.truncate) await truncateTable(this.client, meta);
    if (plan.deletes.length) await deleteKeys(this.client, meta, keyColumns, plan.deletes);
    stats.deleted += plan.deletes.length;
    const copyThreshold = this.opts.copyThreshold ?? 2000;
    for (const [columns, rows] of byColumnSet(plan.upserts, meta)) {
      const how = await upsertRows(this.client, meta, keyColumns, columns, rows, { copyThreshold });
      stats.upserted += rows.length;
      if (how === "copy") stats.copied += rows.length;
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
    await addColumns(this.client, meta.target, columnTypesFrom(records, absent));
    this.log.info({ table: name, columns: absent }, "added columns to target table");
    fresh = (await this.describe(meta.target, false)) ?? fresh;
    return fresh;
  }

  private async describe(target: TargetTable, useCache: boolean): Promise<TableMeta | undefined> {
    const id = JSON.stringify([target.schema, target.table]);
    const cached = useCache ? this.tables.get(id) : undefined;
    if (cached) return cached;
    const meta = await describeTable(this.client, target);
    if (meta) this.tables.set(id, meta);
    else this.tables.delete(id);
    return meta;
  }

  private invalid(table: string, message: string): SinkWriteError {
    return new SinkWriteError("SINK_INVALID", this.opts.sinkId, table, message);
  }
}

/** Groups upsert rows by their set of present, writable columns (in table order), in order of first appearance. */
function byColumnSet(rows: readonly Row[], meta: TableMeta): Array<readonly [string[], Row[]]> {
  const writable = [...meta.columns].filter(([, m]) => !m.generated).map(([c]) => c);
  const groups = new Map<string, { columns: string[]; rows: Row[] }>();
  let last: { sig: string; columns: string[]; rows: Row[] } | undefined;
  for (const row of rows) {
    // one character per writable column: present or not (rows of a batch mostly share one set)
    let sig = "";
    for (const c of writable) sig += Object.hasOwn(row, c) ? "1" : "0";
    if (last?.sig === sig) {
      last.rows.push(row);
      continue;
    }
    let g = groups.get(sig);
    if (!g) groups.set(sig, (g = { columns: writable.filter((c) => Object.hasOwn(row, c)), rows: [] }));
    g.rows.push(row);
    last = { sig, ...g, rows: g.rows };
  }
  return [...groups.values()].map((g) => [g.columns, g.rows] as const);
}
