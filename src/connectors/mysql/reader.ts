/**
 * The MySQL/MariaDB stream reader (the `stream` actor's work): fence the position, check
 * the server's binlog settings and the tables, publish a snapshot consistent with a binlog
 * position if one is due, then follow the binlog (zongji) from the checkpoint through a
 * bounded queue. Positions advance only past JetStream-acked events, at transaction
 * boundaries; a restart replays the open transaction and the publisher skips what the
 * JetStream stream already holds.
 */
import mysql from "mysql2/promise";
import type { Connection, RowDataPacket } from "mysql2/promise";
import type { MysqlSourceSpec } from "../../config/index.js";
import type { ChangeEvent, Row } from "../../events/change-event.js";
import { TributaryError, toTributaryError } from "../../errors.js";
import type { Checkpointer } from "../../runtime/checkpointer.js";
import type { EventPublisher } from "../../runtime/event-publisher.js";
import { openReaderOutput } from "../../runtime/reader-output.js";
import type { WorkDeps } from "../../runtime/deps.js";
import { FailLatch, type Work, type WorkControl } from "../../runtime/work.js";
import { BinlogSource, HEARTBEAT_MS, type BinlogItem, type BinlogStart } from "./binlog-source.js";
import { binaryLogs, describeTable, inspectServer, type ServerInfo, type TableInfo } from "./catalog.js";
import { connectionOptions, isBinlogGone, redactUrl, sourceError } from "./connection.js";
import { keyOf, keysDiffer, makeEvent, shapeOf, toRow, type TableShape } from "./event-builder.js";
import { defaultServerId, encodeEventPos, snapshotIndex, type MysqlCheckpoint } from "./position.js";
import { beginSnapshot, endSnapshot, readTable } from "./snapshot.js";

type RowsItem = Extract<BinlogItem, { kind: "rows" }>;

/**
 * A binlog connection silent this long (no event, no heartbeat, not paused by us) is taken
 * for dead and the reader restarts. Generous: a GTID resume first makes the server scan the
 * binlog file for the position, which may send nothing for a while.
 */
const SILENCE_LIMIT_MS = HEARTBEAT_MS * 18;

/** The transaction being read: its events' positions are keyed by (file, offset). */
interface OpenTx {
  file: string;
  offset: number;
  gtid: string | null;
  tsMs: number;
  index: number;
}

/** The `stream` actor's work for a `type: mysql` source (MySQL 5.7+/8, MariaDB 10.5+). */
export class MysqlReader implements Work {
  private readonly src: MysqlSourceSpec;
  private readonly serverId: number;
  private readonly shapes = new Map<string, TableShape>();

  constructor(private readonly d: WorkDeps) {
    this.src = d.spec.source as MysqlSourceSpec;
    this.serverId = this.src.serverId ?? defaultServerId(d.cfg.cluster, d.spec.id);
  }

  async run(ctl: WorkControl): Promise<void> {
    const { d, src } = this;
    const { fenced, pub, cpr } = await openReaderOutput<MysqlCheckpoint>(d, ctl);
    d.log.info({ serverId: this.serverId }, "replication server id");

    let conn: Connection | undefined;
    try {
      conn = await this.connect();
      const server = await inspectServer(conn, src.url).catch((e) => Promise.reject(sourceError(e, src.url)));
      if (server.serverId === this.serverId) {
        throw new TributaryError("CONFIG_INVALID", `stream ${d.spec.id}: serverId ${this.serverId} is the source server's own server_id; choose another source.serverId`);
      }
      if (!server.fullMetadata) d.log.warn("binlog_row_metadata is not FULL: columns are looked up in information_schema, so an ALTER TABLE racing a row event may mis-decode it (SET GLOBAL binlog_row_metadata = 'FULL')");
      const tables = new Map<string, TableInfo>();
      for (const t of src.tables) tables.set(t, await describeTable(conn, t, src.url).catch((e) => Promise.reject(sourceError(e, src.url))));
      for (const t of tables.values()) {
        this.shapes.set(`${t.schema}.${t.table}`, shapeOf(t.schema, t.table, t.columns, t.keyColumns));
        if (t.engine && t.engine.toLowerCase() !== "innodb") d.log.warn({ table: `${t.schema}.${t.table}`, engine: t.engine }, "table is not InnoDB: its snapshot is not transactional");
      }

      let start = fenced.position;
      if (start?.snapshotDone) {
        await this.assertResumable(conn, server, start);
      } else {
        if (start) await this.assertResumable(conn, server, start); // an interrupted snapshot streams from its first attempt's point
        start = await this.snapshot(conn, server, tables, pub, cpr, ctl, start);
        if (!start) return; // stopped or aborted during the snapshot; it starts over next time
        await pub.drain();
        await cpr.write(start);
      }
      ctl.progress(start);
      await this.stream(server, start, pub, cpr, ctl, conn);
    } finally {
      pub.close();
      await conn?.end().catch(() => undefined);
    }
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
    const id = this.d.spec.id;
    return new TributaryError(
      "SOURCE_INVALID",
      `the binlog of stream ${id} at ${cp.file}:${cp.pos}${cp.gtid ? ` (GTID ${cp.gtid})` : ""} is no longer on MySQL source ${redactUrl(this.src.url)}` +
        `${oldest ? ` (oldest binlog: ${oldest})` : ""}${cause ? ` (${(cause as Error).message})` : ""}: it was purged (or this server never had that position), so changes since then cannot be read. ` +
        `Re-snapshot the stream (POST /v1/streams/${id}/snapshot) to start over, and keep binlogs longer (binlog_expire_logs_seconds) than a stream may stay stopped.`,
      { cause },
    );
  }

  /**
   * Publishes every existing row (op "r") as of a consistent binlog point; returns the
   * position to stream from. The first attempt records its point in the positions bucket
   * before publishing a row. An attempt after an interrupted one reads a new consistent
   * snapshot but streams from the FIRST attempt's point: rows an earlier attempt published
   * and that were deleted since would otherwise stay in the targets. Replaying those
   * changes after the newer rows only passes through older states (row images are full)
   * and ends at the same state.
   */
  private async snapshot(conn: Connection, server: ServerInfo, tables: Map<string, TableInfo>, pub: EventPublisher, cpr: Checkpointer<MysqlCheckpoint>, ctl: WorkControl, unfinished: MysqlCheckpoint | null): Promise<MysqlCheckpoint | null> {
    const { d, src } = this;
    if (src.snapshot === "never") {
      const here = await currentPosition(conn, server).catch((e) => Promise.reject(sourceError(e, src.url)));
      d.log.info(here, "no snapshot wanted; streaming from the current binlog position");
      return { ...here, snapshotDone: true, serverId: this.serverId };
    }
    const attempt = (unfinished?.snapshotAttempt ?? 0) + 1;
    const snap = await this.connect();
    try {
      const point = await beginSnapshot(snap, server).catch((e) => Promise.reject(sourceError(e, src.url)));
      const from = unfinished ? { file: unfinished.file, pos: unfinished.pos, gtid: unfinished.gtid ?? "" } : point;
      await cpr.write({ file: from.file, pos: from.pos, ...(from.gtid ? { gtid: from.gtid } : {}), snapshotDone: false, snapshotAttempt: attempt, serverId: this.serverId });
      d.log.info({ attempt, ...point, streamFrom: from, tables: [...tables.keys()] }, "snapshot started");
      let index = 0;
      const tsMs = Date.now();
      for (const t of tables.values()) {
        const shape = this.shapes.get(`${t.schema}.${t.table}`)!;
        const subject = d.cp.names.cdcSubject(d.spec.id, t.schema, t.table);
        for await (const rows of readTable(snap, t, src.snapshotBatchRows, ctl.signal)) {
          if (ctl.isStopping()) return null;
          for (const r of rows) {
            const after = toRow(shape, r);
            const pos = encodeEventPos(from.file, from.pos, "s", snapshotIndex(attempt, index++));
            const ev = makeEvent(shape, "r", null, after, keyOf(shape, after), { stream: d.spec.id, pos, txId: null, tsMs, snapshot: true });
            if (await pub.publish(subject, ev, pos)) d.metrics.eventsRead.inc({ stream: d.spec.id });
          }
        }
      }
      if (ctl.isStopping()) return null; // readTable ends early on abort: the snapshot is incomplete
      await endSnapshot(snap);
      d.log.info({ attempt, rows: index }, "snapshot finished");
      return { file: from.file, pos: from.pos, ...(from.gtid ? { gtid: from.gtid } : {}), snapshotDone: true, serverId: this.serverId };
    } catch (err) {
      if (ctl.isStopping()) return null;
      throw sourceError(err, src.url);
    } finally {
      await snap.end().catch(() => undefined);
    }
  }

  /** Follows the binlog until stopped, aborted or failed. */
  private async stream(server: ServerInfo, from: MysqlCheckpoint, pub: EventPublisher, cpr: Checkpointer<MysqlCheckpoint>, ctl: WorkControl, conn: Connection): Promise<void> {
    const { d, src } = this;
    const latch = new FailLatch();
    const fail = latch.fail;
    const start: BinlogStart = server.gtid && from.gtid ? { gtid: from.gtid } : { file: from.file, pos: from.pos };
    const byDb: Record<string, string[]> = {};
    for (const s of this.shapes.values()) (byDb[s.schema] ??= []).push(s.table);
    const source = new BinlogSource({
      connection: connectionOptions(src.url),
      serverId: this.serverId,
      start,
      tables: byDb,
      queueMaxRows: src.queueMaxRows,
      onError: (err) => fail(isBinlogGone(err) ? this.purged(from, undefined, err) : sourceError(err, src.url)),
      onReady: () => {
        d.log.info({ start, serverId: this.serverId }, "streaming the binlog");
        ctl.ready();
      },
    });

    const consume = async () => {
      let tx: OpenTx | null = null;
      for (;;) {
        const item = await source.queue.take();
        if (item === undefined || latch.halted) return;
        switch (item.kind) {
          case "begin":
            tx = { file: item.file, offset: item.offset, gtid: item.gtid, tsMs: item.tsMs, index: 0 };
            break;
          case "rows":
            tx ??= { file: item.file, offset: item.offset, gtid: item.gtid, tsMs: item.tsMs, index: 0 };
            await this.publishRows(item, tx, pub, conn);
            break;
          case "commit":
            tx = null;
            cpr.boundary(pub.count, this.checkpointAt(item));
            await cpr.maybe(pub.acked);
            break;
          case "statement":
            tx = null;
            await this.onStatement(item, pub);
            cpr.boundary(pub.count, this.checkpointAt(item));
            await cpr.maybe(pub.acked);
            break;
        }
      }
    };

    const ticker = setInterval(() => {
      if (latch.halted) return;
      if (pub.chain.error) return fail(pub.chain.error);
      if (source.silentMs > SILENCE_LIMIT_MS) return fail(new TributaryError("SOURCE_UNAVAILABLE", `no binlog event or heartbeat from MySQL source ${redactUrl(src.url)} for ${Math.round(source.silentMs / 1000)} s; reconnecting`));
      cpr.maybe(pub.acked).catch(fail);
    }, Math.max(50, Math.min(1000, d.cfg.checkpoint.interval)));
    source.start();
    const consumer = consume().catch(fail);
    try {
      await Promise.race([latch.failed, ctl.ended]);
      if (ctl.signal.aborted) return;
      // graceful: stop intake, await acks, final checkpoint, close
      latch.halted = true;
      await source.stop();
      await consumer;
      await pub.drain();
      await cpr.maybe(pub.acked, true);
      d.log.info({ position: cpr.committed, pauses: source.queue.pauses }, "reader stopped gracefully");
      d.probe("stop", cpr.committed);
    } catch (err) {
      throw toTributaryError(err, "SOURCE_UNAVAILABLE");
    } finally {
      latch.halted = true;
      clearInterval(ticker);
      await source.stop();
    }
  }

  private checkpointAt(item: { file: string; pos: number; gtid: string | undefined }): MysqlCheckpoint {
    return { file: item.file, pos: item.pos, ...(item.gtid ? { gtid: item.gtid } : {}), snapshotDone: true, serverId: this.serverId };
  }

  /** Publishes the row images of one rows event. */
  private async publishRows(item: RowsItem, tx: OpenTx, pub: EventPublisher, conn: Connection): Promise<void> {
    const { d } = this;
    const shape = await this.shapeFor(item, conn);
    const decodeTypes = new Map(item.columns.map((c) => [c.COLUMN_NAME, c.COLUMN_TYPE]));
    const subject = d.cp.names.cdcSubject(d.spec.id, shape.schema, shape.table);
    const meta = () => ({ stream: d.spec.id, pos: "", txId: tx.gtid, tsMs: tx.tsMs, snapshot: false });
    const send = async (ev: ChangeEvent) => {
      const pos = encodeEventPos(tx.file, tx.offset, "t", tx.index++);
      ev.source.pos = pos;
      if (await pub.publish(subject, ev, pos)) d.metrics.eventsRead.inc({ stream: d.spec.id });
      else if (pub.skipped === 1) d.log.info({ pos, tail: pub.tailPos }, "replaying events the stream already holds; skipping them");
    };
    const row = (r: unknown): Row => toRow(shape, r as Record<string, unknown>, decodeTypes);
    for (const r of item.rows) {
      if (item.op === "c") {
        const after = row(r);
        await send(makeEvent(shape, "c", null, after, keyOf(shape, after), meta()));
      } else if (item.op === "d") {
        const before = row(r);
        await send(makeEvent(shape, "d", before, null, keyOf(shape, before), meta()));
      } else {
        const u = r as { before: unknown; after: unknown };
        const before = row(u.before);
        const after = row(u.after);
        const oldKey = keyOf(shape, before);
        const newKey = keyOf(shape, after);
        if (keysDiffer(oldKey, newKey)) {
          // a primary-key change: the old key disappears, the new one appears (as Debezium does)
          await send(makeEvent(shape, "d", before, null, oldKey, meta()));
          await send(makeEvent(shape, "c", null, after, newKey, meta()));
        } else {
          await send(makeEvent(shape, "u", before, after, newKey, meta()));
        }
      }
    }
  }

  /**
   * The table's shape for a rows event: the cached one while the binlog's columns match it,
   * else re-read from information_schema (an ALTER TABLE happened) — keeping the binlog's
   * column list, which is what the rows were written with.
   */
  private async shapeFor(item: RowsItem, conn: Connection): Promise<TableShape> {
    const id = `${item.schema}.${item.table}`;
    const names = item.columns.map((c) => c.COLUMN_NAME);
    const cached = this.shapes.get(id);
    if (cached && cached.columns.length === names.length && cached.columns.every((c, i) => c.name === names[i])) return cached;
    let fresh: TableInfo | undefined;
    try {
      fresh = await describeTable(conn, id, this.src.url);
    } catch (err) {
      this.d.log.warn({ table: id, err: (err as Error).message }, "cannot re-read a changed table; using the binlog's column types");
    }
    const typeOf = new Map(fresh?.columns.map((c) => [c.name, c.type]) ?? []);
    const columns = item.columns.map((c) => ({ name: c.COLUMN_NAME, type: typeOf.get(c.COLUMN_NAME) ?? c.COLUMN_TYPE.toLowerCase() }));
    const keys = (fresh?.keyColumns ?? cached?.keyColumns ?? []).filter((k) => names.includes(k));
    const shape = shapeOf(item.schema, item.table, columns, keys);
    this.shapes.set(id, shape);
    this.d.log.info({ table: id, columns: names, key: keys }, "table columns changed; using the new shape");
    return shape;
  }

  /** A statement of its own: TRUNCATE of a captured table becomes an op "t" event; DDL drops the cached shape. */
  private async onStatement(item: Extract<BinlogItem, { kind: "statement" }>, pub: EventPublisher): Promise<void> {
    const m = /^TRUNCATE\s+(?:TABLE\s+)?(?:`((?:[^`]|``)+)`|(\w+))(?:\.(?:`((?:[^`]|``)+)`|(\w+)))?/i.exec(item.query);
    if (!m) return;
    const first = (m[1]?.replace(/``/g, "`") ?? m[2])!;
    const second = m[3]?.replace(/``/g, "`") ?? m[4];
    const id = second !== undefined ? `${first}.${second}` : `${item.schema}.${first}`;
    const shape = this.shapes.get(id);
    if (!shape) return;
    const pos = encodeEventPos(item.file, item.pos, "t", 0);
    const ev = makeEvent(shape, "t", null, null, {}, { stream: this.d.spec.id, pos, txId: item.gtid ?? null, tsMs: item.tsMs, snapshot: false });
    if (await pub.publish(this.d.cp.names.cdcSubject(this.d.spec.id, shape.schema, shape.table), ev, pos)) this.d.metrics.eventsRead.inc({ stream: this.d.spec.id });
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
