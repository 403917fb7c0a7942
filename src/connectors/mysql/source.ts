/**
 * The MySQL/MariaDB source (the source contract's adapter for the binlog): check the
 * server's binlog settings and the tables, take a snapshot consistent with a binlog
 * position when one is due, then follow the binlog (zongji) from the checkpoint through a
 * bounded queue that pauses the binlog socket when the kernel falls behind. Resume points
 * are transaction boundaries; a restart replays the open transaction and the kernel skips
 * what the JetStream stream already holds. A binlog connection silent for too long is
 * taken for dead (the silence limit).
 */
import mysql from "mysql2/promise";
import type { Connection, RowDataPacket } from "mysql2/promise";
import { TributaryError, redactUrl } from "../../base/index.js";
import type { SourceBatch, SourceChange, SourceConnector, SourceContext, SourceDeps } from "../../core/index.js";
import type { Row } from "../../events/index.js";
import { BinlogSource, HEARTBEAT_MS, type BinlogItem, type BinlogStart } from "./binlog-source.js";
import { binaryLogs, describeTable, inspectServer, qi, type ServerInfo, type TableInfo } from "./catalog.js";
import { connectionOptions, isBinlogGone, sourceError } from "./connection.js";
import { checkKeylessTable, insertOnlyRow, KeylessSkips, warnKeylessRetry } from "../shared/index.js";
import { insertOnlyShape, keyOf, keysDiffer, makeEvent, shapeOf, toRow, type TableShape } from "./event-builder.js";
import { defaultServerId, encodeEventPos, snapshotIndex, type MysqlCheckpoint } from "./position.js";
import type { MysqlSourceSpec } from "./schema.js";
import { beginSnapshot, endSnapshot, readTable } from "./snapshot.js";

type RowsItem = Extract<BinlogItem, { kind: "rows" }>;

/**
 * A binlog connection silent this long (no event, no heartbeat, not paused by us) is taken
 * for dead and the reader restarts. Generous: a GTID resume first makes the server scan the
 * binlog file for the position, which may send nothing for a while.
 */
const SILENCE_LIMIT_MS = HEARTBEAT_MS * 18;

/** Most changes in one batch handed to the kernel: short-lived batches keep the garbage collector cheap. */
const MAX_BATCH = 256;

/** The transaction being read: its events' positions are keyed by (file, offset). */
interface OpenTx {
  file: string;
  offset: number;
  gtid: string | null;
  tsMs: number;
  index: number;
}

/** The `stream` actor's source for a `type: mysql` source (MySQL 5.7+/8, MariaDB 10.5+). */
export class MysqlSource implements SourceConnector<MysqlCheckpoint> {
  private readonly serverId: number;
  private readonly shapes = new Map<string, TableShape>();
  private conn: Connection | undefined;
  private binlog: BinlogSource | undefined;
  private health: NodeJS.Timeout | undefined;
  /** updates and deletes of keyless tables that insert-only mode does not apply */
  private readonly keylessSkips: KeylessSkips;

  constructor(private readonly src: MysqlSourceSpec, private readonly d: SourceDeps) {
    this.serverId = src.serverId ?? defaultServerId(d.settings.cluster, d.stream.id);
    this.keylessSkips = new KeylessSkips(d.stream.id, d.metrics, d.log);
  }

  async *read(ctx: SourceContext<MysqlCheckpoint>): AsyncGenerator<SourceBatch<MysqlCheckpoint>, void> {
    const { d, src } = this;
    d.log.info({ serverId: this.serverId }, "replication server id");
    const conn = (this.conn = await this.connect());
    const server = await inspectServer(conn, src.url).catch((e) => Promise.reject(sourceError(e, src.url)));
    if (server.serverId === this.serverId) {
      throw new TributaryError("CONFIG_INVALID", `stream ${d.stream.id}: serverId ${this.serverId} is the source server's own server_id; choose another source.serverId`);
    }
    if (!server.fullMetadata) d.log.warn("binlog_row_metadata is not FULL: columns are looked up in information_schema, so an ALTER TABLE racing a row event may mis-decode it (SET GLOBAL binlog_row_metadata = 'FULL')");
    const tables = new Map<string, TableInfo>();
    for (const t of src.tables) tables.set(t, await describeTable(conn, t, src.url).catch((e) => Promise.reject(sourceError(e, src.url))));
    for (const t of tables.values()) {
      if (t.keyless) checkKeylessTable(d.stream.id, `${t.schema}.${t.table}`, t.columns.map((c) => c.name), src.keylessTables, `ALTER TABLE ${qi(t.schema)}.${qi(t.table)} ADD PRIMARY KEY (…)`);
      const shape = shapeOf(t.schema, t.table, t.columns, t.keyColumns);
      this.shapes.set(`${t.schema}.${t.table}`, t.keyless ? insertOnlyShape(shape) : shape);
      if (t.engine && t.engine.toLowerCase() !== "innodb") d.log.warn({ table: `${t.schema}.${t.table}`, engine: t.engine }, "table is not InnoDB: its snapshot is not transactional");
    }

    let start = ctx.checkpoint;
    if (start?.snapshotDone) {
      await this.assertResumable(conn, server, start);
    } else {
      if (start) await this.assertResumable(conn, server, start); // an interrupted snapshot streams from its first attempt's point
      start = yield* this.snapshot(conn, server, tables, ctx, start);
      if (!start) return; // stopped or aborted during the snapshot; it starts over next time
    }
    yield* this.stream(server, start, ctx, conn);
  }

  async close(): Promise<void> {
    clearInterval(this.health);
    await this.binlog?.stop();
    await this.conn?.end().catch(() => undefined);
    this.conn = undefined;
  }

  private async connect(): Promise<Connection> {
    try {
      const c = await mysql.createConnection(connectionOptions(this.src.url));
      c.on("error", () => undefined);
      await c.query("SET time_zone = '+00:00'");
      return c;
    } catch (err) {
      throw sourceError(err, this.src.url);
    }
  }

  /** Refuses, with the fix, a checkpoint whose binlog the server no longer has. */
  private async assertResumable(conn: Connection, server: ServerInfo, cp: MysqlCheckpoint): Promise<void> {
    if (server.gtid && cp.gtid) return; // the server checks a GTID position itself (error 1236, mapped by purged())
    const logs = await binaryLogs(conn).catch((e) => Promise.reject(sourceError(e, this.src.url)));
    if (!logs.includes(cp.file)) throw this.purged(cp, logs[0]);
  }

  private purged(cp: MysqlCheckpoint, oldest?: string, cause?: unknown): TributaryError {
    const id = this.d.stream.id;
    return new TributaryError(
      "SOURCE_INVALID",
      `the binlog of stream ${id} at ${cp.file}:${cp.pos}${cp.gtid ? ` (GTID ${cp.gtid})` : ""} is no longer on MySQL source ${redactUrl(this.src.url)}` +
        `${oldest ? ` (oldest binlog: ${oldest})` : ""}${cause ? ` (${(cause as Error).message})` : ""}: it was purged (or this server never had that position), so changes since then cannot be read. ` +
        `Re-snapshot the stream (POST /v1/streams/${id}/snapshot) to start over, and keep binlogs longer (binlog_expire_logs_seconds) than a stream may stay stopped.`,
      { cause },
    );
  }

  /**
   * Yields every existing row (op "r") as of a consistent binlog point; returns the position
   * to stream from (null when stopped first). The first attempt makes its point durable
   * before any row is published. An attempt after an interrupted one reads a new consistent
   * snapshot but streams from the FIRST attempt's point: rows an earlier attempt published
   * and that were deleted since would otherwise stay in the targets. Replaying those
   * changes after the newer rows only passes through older states (row images are full)
   * and ends at the same state.
   */
  private async *snapshot(conn: Connection, server: ServerInfo, tables: Map<string, TableInfo>, ctx: SourceContext<MysqlCheckpoint>, unfinished: MysqlCheckpoint | null): AsyncGenerator<SourceBatch<MysqlCheckpoint>, MysqlCheckpoint | null> {
    const { d, src } = this;
    if (src.snapshot === "never") {
      const here = await currentPosition(conn, server).catch((e) => Promise.reject(sourceError(e, src.url)));
      d.log.info(here, "no snapshot wanted; streaming from the current binlog position");
      const done: MysqlCheckpoint = { ...here, snapshotDone: true, serverId: this.serverId };
      yield { changes: [], position: done, durable: true };
      return done;
    }
    const attempt = (unfinished?.snapshotAttempt ?? 0) + 1;
    const snap = await this.connect();
    let done: MysqlCheckpoint;
    try {
      const point = await beginSnapshot(snap, server).catch((e) => Promise.reject(sourceError(e, src.url)));
      const from = unfinished ? { file: unfinished.file, pos: unfinished.pos, gtid: unfinished.gtid ?? "" } : point;
      yield { changes: [], position: { file: from.file, pos: from.pos, ...(from.gtid ? { gtid: from.gtid } : {}), snapshotDone: false, snapshotAttempt: attempt, serverId: this.serverId }, durable: true };
      d.log.info({ attempt, ...point, streamFrom: from, tables: [...tables.keys()] }, "snapshot started");
      warnKeylessRetry(d.log, attempt, [...tables.values()].filter((t) => t.keyless).map((t) => `${t.schema}.${t.table}`));
      let index = 0;
      const tsMs = Date.now();
      for (const t of tables.values()) {
        const shape = this.shapes.get(`${t.schema}.${t.table}`)!;
        for await (const rows of readTable(snap, t, src.snapshotBatchRows, ctx.signal)) {
          if (ctx.signal.aborted) return null;
          const changes: SourceChange[] = new Array(rows.length);
          for (let i = 0; i < rows.length; i++) {
            const row = toRow(shape, rows[i]!);
            const pos = encodeEventPos(from.file, from.pos, "s", snapshotIndex(attempt, index++));
            const { after, key } = shape.keyless ? insertOnlyRow(row, pos) : { after: row, key: keyOf(shape, row) };
            changes[i] = { schema: shape.schema, table: shape.table, op: "r", pos, event: makeEvent(shape, "r", null, after, key, { stream: d.stream.id, pos, txId: null, tsMs, snapshot: true }) };
          }
          yield { changes };
        }
      }
      if (ctx.signal.aborted) return null; // readTable ends early once stopped: the snapshot is incomplete
      await endSnapshot(snap);
      d.log.info({ attempt, rows: index }, "snapshot finished");
      done = { file: from.file, pos: from.pos, ...(from.gtid ? { gtid: from.gtid } : {}), snapshotDone: true, serverId: this.serverId };
    } catch (err) {
      if (ctx.signal.aborted) return null;
      throw sourceError(err, src.url);
    } finally {
      await snap.end().catch(() => undefined);
    }
    yield { changes: [], position: done, durable: true };
    return done;
  }

  /** Follows the binlog until stopped or failed, in batches cut at transaction boundaries when the queue runs dry. */
  private async *stream(server: ServerInfo, from: MysqlCheckpoint, ctx: SourceContext<MysqlCheckpoint>, conn: Connection): AsyncGenerator<SourceBatch<MysqlCheckpoint>, void> {
    const { d, src } = this;
    const start: BinlogStart = server.gtid && from.gtid ? { gtid: from.gtid } : { file: from.file, pos: from.pos };
    const byDb: Record<string, string[]> = {};
    for (const s of this.shapes.values()) (byDb[s.schema] ??= []).push(s.table);
    // the first failure of the connection's callbacks or of its health check; read by the loop below
    let failure: { error: unknown } | undefined;
    const failed = () => failure; // read through a call: the callbacks set it behind the loop's back
    const fail = (error: unknown) => {
      failure ??= { error };
      binlog.queue.close(); // wakes the loop below
    };
    const binlog = (this.binlog = new BinlogSource({
      connection: connectionOptions(src.url),
      serverId: this.serverId,
      start,
      tables: byDb,
      queueMaxRows: src.queueMaxRows,
      onPause: () => d.metrics.sourcePauses.inc({ stream: d.stream.id }),
      onError: (err) => fail(isBinlogGone(err) ? this.purged(from, undefined, err) : sourceError(err, src.url)),
      onReady: () => {
        d.log.info({ start, serverId: this.serverId }, "streaming the binlog");
        ctx.ready();
      },
    }));
    this.health = setInterval(() => {
      if (binlog.silentMs > SILENCE_LIMIT_MS) fail(new TributaryError("SOURCE_UNAVAILABLE", `no binlog event or heartbeat from MySQL source ${redactUrl(src.url)} for ${Math.round(binlog.silentMs / 1000)} s; reconnecting`));
    }, Math.max(50, Math.min(1000, d.settings.checkpoint.interval)));
    const onStop = () => binlog.queue.close();
    ctx.signal.addEventListener("abort", onStop, { once: true });
    binlog.start();
    try {
      let tx: OpenTx | null = null;
      let changes: SourceChange[] = [];
      let position: MysqlCheckpoint | undefined;
      for (;;) {
        const f = failed();
        if (f) throw f.error;
        // take what is queued without waiting; hand over what we have before waiting for more
        let item = binlog.queue.poll();
        if (item === undefined) {
          if (changes.length || position) {
            yield { changes, position };
            changes = [];
            position = undefined;
            continue;
          }
          item = await binlog.queue.take();
          if (item === undefined) break;
        }
        switch (item.kind) {
          case "begin":
            tx = { file: item.file, offset: item.offset, gtid: item.gtid, tsMs: item.tsMs, index: 0 };
            break;
          case "rows":
            tx ??= { file: item.file, offset: item.offset, gtid: item.gtid, tsMs: item.tsMs, index: 0 };
            this.addRows(item, tx, this.cachedShape(item) ?? (await this.shapeFor(item, conn)), changes);
            break;
          case "commit":
            tx = null;
            position = this.checkpointAt(item);
            break;
          case "statement":
            tx = null;
            this.onStatement(item, changes);
            position = this.checkpointAt(item);
            break;
        }
        if (changes.length >= MAX_BATCH) {
          yield { changes, position };
          changes = [];
          position = undefined;
        }
      }
      const f = failed();
      if (f) throw f.error;
      d.log.info({ pauses: binlog.queue.pauses }, "binlog reader stopped gracefully");
    } finally {
      ctx.signal.removeEventListener("abort", onStop);
      clearInterval(this.health);
      await binlog.stop();
    }
  }

  private checkpointAt(item: { file: string; pos: number; gtid: string | undefined }): MysqlCheckpoint {
    return { file: item.file, pos: item.pos, ...(item.gtid ? { gtid: item.gtid } : {}), snapshotDone: true, serverId: this.serverId };
  }

  /** Appends the row images of one rows event. */
  private addRows(item: RowsItem, tx: OpenTx, shape: TableShape, out: SourceChange[]): void {
    const stream = this.d.stream.id;
    const decodeTypes = new Map(item.columns.map((c) => [c.COLUMN_NAME, c.COLUMN_TYPE]));
    const push = (op: "c" | "u" | "d", before: Row | null, after: Row | null, key: Row) => {
      const pos = encodeEventPos(tx.file, tx.offset, "t", tx.index++);
      if (shape.keyless) ({ after, key } = insertOnlyRow(after, pos));
      out.push({ schema: shape.schema, table: shape.table, op, pos, event: makeEvent(shape, op, before, after, key, { stream, pos, txId: tx.gtid, tsMs: tx.tsMs, snapshot: false }) });
    };
    const row = (r: unknown): Row => toRow(shape, r as Record<string, unknown>, decodeTypes);
    if (shape.keyless && item.op !== "c") {
      // insert-only: no target row can be matched to an update or delete of a keyless table
      for (let i = 0; i < item.rows.length; i++) this.keylessSkips.skip(`${shape.schema}.${shape.table}`, item.op === "d" ? "delete" : "update");
      return;
    }
    for (const r of item.rows) {
      if (item.op === "c") {
        const after = row(r);
        push("c", null, after, keyOf(shape, after));
      } else if (item.op === "d") {
        const before = row(r);
        push("d", before, null, keyOf(shape, before));
      } else {
        const u = r as { before: unknown; after: unknown };
        const before = row(u.before);
        const after = row(u.after);
        const oldKey = keyOf(shape, before);
        const newKey = keyOf(shape, after);
        if (keysDiffer(oldKey, newKey)) {
          // a primary-key change: the old key disappears, the new one appears (as Debezium does)
          push("d", before, null, oldKey);
          push("c", null, after, newKey);
        } else {
          push("u", before, after, newKey);
        }
      }
    }
  }

  /** The cached shape of a rows event's table while the binlog's columns match it. */
  private cachedShape(item: RowsItem): TableShape | undefined {
    const cached = this.shapes.get(`${item.schema}.${item.table}`);
    const cols = item.columns;
    if (!cached || cached.columns.length !== cols.length) return undefined;
    for (let i = 0; i < cols.length; i++) if (cached.columns[i]!.name !== cols[i]!.COLUMN_NAME) return undefined;
    return cached;
  }

  /**
   * The table's shape for a rows event whose columns differ from the cached one (an ALTER
   * TABLE happened): re-read from information_schema, keeping the binlog's column list,
   * which is what the rows were written with.
   */
  private async shapeFor(item: RowsItem, conn: Connection): Promise<TableShape> {
    const id = `${item.schema}.${item.table}`;
    const names = item.columns.map((c) => c.COLUMN_NAME);
    const cached = this.shapes.get(id);
    let fresh: TableInfo | undefined;
    try {
      fresh = await describeTable(conn, id, this.src.url);
    } catch (err) {
      this.d.log.warn({ table: id, err }, "cannot re-read a changed table; using the binlog's column types");
    }
    const typeOf = new Map(fresh?.columns.map((c) => [c.name, c.type]) ?? []);
    const columns = item.columns.map((c) => ({ name: c.COLUMN_NAME, type: typeOf.get(c.COLUMN_NAME) ?? c.COLUMN_TYPE.toLowerCase() }));
    const keys = (fresh?.keyColumns ?? cached?.keyColumns ?? []).filter((k) => names.includes(k));
    const plain = shapeOf(item.schema, item.table, columns, keys);
    // a table that had no key keeps its insert-only shape (a key added meanwhile applies after a re-snapshot)
    const shape = cached?.keyless ? insertOnlyShape(plain) : plain;
    this.shapes.set(id, shape);
    this.d.log.info({ table: id, columns: names, key: keys }, "table columns changed; using the new shape");
    return shape;
  }

  /** A statement of its own: TRUNCATE of a captured table becomes an op "t" event; anything else is only a resume point. */
  private onStatement(item: Extract<BinlogItem, { kind: "statement" }>, out: SourceChange[]): void {
    const m = /^TRUNCATE\s+(?:TABLE\s+)?(?:`((?:[^`]|``)+)`|(\w+))(?:\.(?:`((?:[^`]|``)+)`|(\w+)))?/i.exec(item.query);
    if (!m) return;
    const first = (m[1]?.replace(/``/g, "`") ?? m[2])!;
    const second = m[3]?.replace(/``/g, "`") ?? m[4];
    const id = second !== undefined ? `${first}.${second}` : `${item.schema}.${first}`;
    const shape = this.shapes.get(id);
    if (!shape) return;
    const pos = encodeEventPos(item.file, item.pos, "t", 0);
    out.push({ schema: shape.schema, table: shape.table, op: "t", pos, event: makeEvent(shape, "t", null, null, {}, { stream: this.d.stream.id, pos, txId: item.gtid ?? null, tsMs: item.tsMs, snapshot: false }) });
  }
}

/** The binlog position now, with the GTID position at (or, on MySQL, just before) it. */
async function currentPosition(c: Connection, server: ServerInfo): Promise<{ file: string; pos: number; gtid?: string }> {
  let gtid = "";
  if (server.gtid && !server.mariadb) {
    // read first: a GTID position a little behind file:pos only replays a few transactions
    const [g] = await c.query<RowDataPacket[]>("SELECT @@GLOBAL.gtid_executed AS gtid");
    gtid = String(g[0]?.gtid ?? "").replace(/\s/g, "");
  }
  const [rows] = await c.query<RowDataPacket[]>("SHOW MASTER STATUS").catch(() => c.query<RowDataPacket[]>("SHOW BINARY LOG STATUS"));
  const st = rows[0];
  if (!st) throw new TributaryError("SOURCE_INVALID", "SHOW MASTER STATUS returned nothing: is the binary log enabled?");
  const file = String(st.File);
  const pos = Number(st.Position);
  if (server.mariadb) {
    const [g] = await c.query<RowDataPacket[]>("SELECT BINLOG_GTID_POS(?, ?) AS gtid", [file, pos]);
    gtid = String(g[0]?.gtid ?? "");
  }
  return { file, pos, ...(gtid ? { gtid } : {}) };
}
