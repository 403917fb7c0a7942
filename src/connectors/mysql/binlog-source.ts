/**
 * The binlog connection: a zongji instance started at a checkpoint, whose events are
 * turned — synchronously, inside zongji's callback, where its position bookkeeping is
 * coherent — into plain items carrying the binlog coordinates they need (transaction
 * start offset, resume point and GTID position at commit), and pushed into a
 * {@link BoundedQueue} that pauses the socket when the publisher falls behind.
 */
import ZongJi, { type AnyBinlogEvent, type ColumnSchema, type TableMapEntry } from "@vlasky/zongji";
import type { ConnectionOptions } from "mysql2";
import { BoundedQueue } from "./binlog-queue.js";

/** One unit of binlog work for the reader. */
export type BinlogItem =
  /** a transaction starts; `offset` (where its first event ends in `file`) keys its event positions */
  | { kind: "begin"; file: string; offset: number; gtid: string | null; tsMs: number }
  /** row images of one rows event (zongji decoded them with the column info of the event's TableMap) */
  | { kind: "rows"; op: "c" | "u" | "d"; schema: string; table: string; columns: ColumnSchema[]; rows: unknown[]; file: string; offset: number; gtid: string | null; tsMs: number }
  /** a transaction committed: `file`/`pos` resume after it, `gtid` is the executed GTID position */
  | { kind: "commit"; file: string; pos: number; gtid: string | undefined; tsMs: number }
  /** a statement of its own (DDL, TRUNCATE…): also a resume point */
  | { kind: "statement"; schema: string; query: string; file: string; pos: number; gtid: string | undefined; tsMs: number };

/** Where to start reading. */
export type BinlogStart = { gtid: string } | { file: string; pos: number };

/** What the binlog connection needs. */
export interface BinlogSourceOptions {
  connection: ConnectionOptions;
  serverId: number;
  start: BinlogStart;
  /** database -> tables whose row events are wanted */
  tables: Record<string, string[]>;
  /** rows queued before the socket is paused */
  queueMaxRows: number;
  onError: (err: Error) => void;
  onReady: () => void;
  /** the queue is full and the socket was paused (metrics) */
  onPause?: () => void;
}

const EVENTS = ["rotate", "tablemap", "writerows", "updaterows", "deleterows", "xid", "query", "mariadbgtid", "gtid", "anonymousgtid", "xaprepare", "heartbeat"];

/** The server sends a heartbeat event after this long without binlog events. */
export const HEARTBEAT_MS = 10_000;

/** Reads the binlog from a start point into a bounded queue of {@link BinlogItem}s. */
export class BinlogSource {
  readonly queue: BoundedQueue<BinlogItem>;
  private readonly zj: ZongJi;
  private stopped = false;
  /** the current transaction's start was reported (GTID event, then BEGIN on MySQL) */
  private inTx = false;
  private lastEventAt = performance.now();

  constructor(private readonly o: BinlogSourceOptions) {
    this.zj = new ZongJi(o.connection);
    this.queue = new BoundedQueue<BinlogItem>({
      highWater: o.queueMaxRows,
      weight: (i) => (i.kind === "rows" ? i.rows.length : 1),
      pause: () => {
        o.onPause?.();
        this.zj.connection?.pause();
      },
      resume: () => {
        this.lastEventAt = performance.now();
        this.zj.connection?.resume();
      },
    });
    this.zj.on("error", (err: Error) => {
      if (!this.stopped) o.onError(err);
    });
    this.zj.on("ready", () => {
      if (!this.stopped) o.onReady();
    });
    this.zj.on("binlog", (ev: AnyBinlogEvent) => {
      if (this.stopped) return;
      this.lastEventAt = performance.now();
      try {
        this.onEvent(ev);
      } catch (err) {
        o.onError(err as Error);
      }
    });
  }

  /**
   * How long the connection has been silent (no event, not even a heartbeat) while not
   * paused: a dead network path shows up here instead of as a connection that waits forever.
   */
  get silentMs(): number {
    return this.queue.isPaused ? 0 : performance.now() - this.lastEventAt;
  }

  /** True when the server is MariaDB (known once ready). */
  get mariadb(): boolean {
    return this.zj.isMariaDb;
  }

  /** Connects and starts the dump. */
  start(): void {
    const s = this.o.start;
    this.lastEventAt = performance.now();
    this.zj.start({
      serverId: this.o.serverId,
      includeEvents: EVENTS,
      includeSchema: this.o.tables,
      ...("gtid" in s ? { gtidSet: s.gtid } : { filename: s.file, position: s.pos }),
    });
    // Queued on the binlog connection before the dump command zongji adds after its preamble:
    // a paused reader does not read, so keep the server's dump thread from giving up on us
    // while JetStream is slow (its write timeout is this session's net_write_timeout); and
    // ask for heartbeats, so an idle stream can tell a quiet server from a dead connection.
    this.zj.connection?.query(`SET SESSION net_write_timeout = 3600, @master_heartbeat_period = ${HEARTBEAT_MS * 1_000_000}`, () => undefined);
  }

  /** Stops reading and closes both connections; queued items are dropped. */
  stop(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.stopped = true;
    this.queue.close();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, 2000);
      this.zj.once("stopped", () => (clearTimeout(t), resolve()));
      this.zj.stop();
    });
  }

  private where(): { file: string; pos: number } {
    return { file: this.zj.options.filename ?? "", pos: this.zj.options.position ?? 0 };
  }

  private onEvent(ev: AnyBinlogEvent): void {
    const tsMs = ev.timestamp;
    switch (ev.getEventName()) {
      case "mariadbgtid":
      case "gtid":
      case "anonymousgtid": {
        const standalone = "standalone" in ev && ev.standalone === true;
        this.inTx = !standalone;
        if (!standalone) this.begin(ev.nextPosition, ev.gtid ?? null, tsMs);
        return;
      }
      case "query": {
        const q = (ev as { query: string }).query.trim();
        const upper = q.toUpperCase();
        if (upper === "BEGIN" || upper.startsWith("XA START")) {
          if (!this.inTx) this.begin(ev.nextPosition, ev.gtid ?? null, tsMs);
          this.inTx = true;
          return;
        }
        if (upper === "COMMIT" || upper.startsWith("XA COMMIT") || upper === "ROLLBACK" || upper.startsWith("XA ROLLBACK")) return this.commit(tsMs);
        if (upper.startsWith("XA END") || upper.startsWith("SAVEPOINT") || upper.startsWith("ROLLBACK TO")) return;
        this.inTx = false;
        const at = this.where();
        this.queue.push({ kind: "statement", schema: (ev as { schema: string }).schema, query: q, file: at.file, pos: at.pos, gtid: this.zj.gtidSet, tsMs });
        return;
      }
      case "xid":
      case "xaprepare":
        return this.commit(tsMs);
      case "writerows":
      case "updaterows":
      case "deleterows": {
        const rowsEv = ev as { tableId: number; tableMap: Record<number, TableMapEntry>; rows: unknown[] };
        const entry = rowsEv.tableMap[rowsEv.tableId];
        if (!entry) return;
        if (!this.inTx) this.begin(0, ev.gtid ?? null, tsMs); // no GTID or BEGIN seen (e.g. a stream started mid-group)
        const op = ev.getEventName() === "writerows" ? "c" : ev.getEventName() === "updaterows" ? "u" : "d";
        const at = this.where();
        this.queue.push({ kind: "rows", op, schema: entry.parentSchema, table: entry.tableName, columns: entry.columnSchemas, rows: rowsEv.rows, file: at.file, offset: at.pos, gtid: ev.gtid ?? null, tsMs });
        return;
      }
      default:
        return; // rotate and tablemap: zongji keeps the file name and the table map itself
    }
  }

  private begin(nextPosition: number, gtid: string | null, tsMs: number): void {
    const at = this.where();
    this.inTx = true;
    this.queue.push({ kind: "begin", file: at.file, offset: nextPosition > 0 ? nextPosition : at.pos, gtid, tsMs });
  }

  private commit(tsMs: number): void {
    this.inTx = false;
    const at = this.where();
    this.queue.push({ kind: "commit", file: at.file, pos: at.pos, gtid: this.zj.gtidSet, tsMs });
  }
}
