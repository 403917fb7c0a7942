/**
 * The PostgreSQL stream reader (the `stream` actor's work): fence the position, publish a
 * consistent snapshot if one is due, then stream pgoutput changes from the checkpointed
 * LSN. Positions advance only past JetStream-acked events; the LSN is acknowledged to
 * PostgreSQL only after the checkpoint is written (the library's own acknowledgement is
 * turned off: it would confirm LSNs before they are safe).
 */
import pg from "pg";
import { LogicalReplicationService, PgoutputPlugin, type Pgoutput } from "pg-logical-replication";
import type { PostgresSourceSpec } from "../../config/index.js";
import type { Op, Row } from "../../events/change-event.js";
import { TributaryError, toTributaryError } from "../../errors.js";
import type { Checkpointer } from "../../runtime/checkpointer.js";
import type { EventPublisher } from "../../runtime/event-publisher.js";
import { openReaderOutput } from "../../runtime/reader-output.js";
import type { WorkDeps } from "../../runtime/deps.js";
import { FailLatch, type Work, type WorkControl } from "../../runtime/work.js";
import { describeTable, dropSlot, ensurePublication, slotInfo, typesByOid, SESSION_OPTIONS, type TableInfo } from "./catalog.js";
import { encodeEvent, keyOf, keysDiffer, shapeOf, toRow, type EventMeta, type RelationShape } from "./event-builder.js";
import { bigIntToLsn, compareLsn, encodeSnapshotPos, eventPos, eventPosPrefix, lsnToBigInt, type PgCheckpoint } from "./position.js";
import { createSlot, readTable } from "./snapshot.js";

/** Keeps pgoutput values as TEXT: the parser is swapped synchronously, before any tuple of the relation is parsed. */
class TextPgoutputPlugin extends PgoutputPlugin {
  override parse(buffer: Buffer): Pgoutput.Message {
    const m = super.parse(buffer);
    if (m.tag === "relation") for (const c of m.columns) c.parser = (raw: unknown) => raw;
    return m;
  }
}

/** Default slot/publication name for a stream id. */
export function defaultSlotName(streamId: string): string {
  return `tributary_${streamId.toLowerCase().replace(/-/g, "_")}`.slice(0, 63);
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
}

/** Maps a pg connection error to SOURCE_UNAVAILABLE / SOURCE_INVALID naming the database. */
export function sourceError(err: unknown, url: string): TributaryError {
  if (err instanceof TributaryError) return err;
  const e = err as { message?: string; code?: string };
  const msg = `PostgreSQL source ${redact(url)}: ${e.message ?? String(err)}`;
  // 28xxx auth, 3D000 unknown database, 42xxx: not retryable as is
  if (e.code && /^(28|3D|42)/.test(e.code)) return new TributaryError("SOURCE_INVALID", msg, { cause: err });
  return new TributaryError("SOURCE_UNAVAILABLE", msg, { cause: err });
}

export class PostgresReader implements Work {
  private readonly src: PostgresSourceSpec;
  private readonly slot: string;
  private readonly publication: string;
  private readonly db: string;

  constructor(private readonly d: WorkDeps) {
    this.src = d.spec.source as PostgresSourceSpec;
    this.slot = this.src.slot ?? defaultSlotName(d.spec.id);
    this.publication = this.src.publication ?? this.slot;
    this.db = decodeURIComponent(new URL(this.src.url).pathname.replace(/^\//, "")) || "postgres";
  }

  async run(ctl: WorkControl): Promise<void> {
    const { d } = this;
    let service: LogicalReplicationService | null = null;
    const { fenced, pub, cpr } = await openReaderOutput<PgCheckpoint>(d, ctl, async (p) => {
      // only now is it safe for PostgreSQL to recycle WAL up to this commit
      if (service && !service.isStop()) await service.acknowledge(p.lsn);
    });

    const client = new pg.Client({ connectionString: this.src.url, options: SESSION_OPTIONS, application_name: `tributary:${d.spec.id}` });
    client.on("error", () => undefined);
    try {
      await client.connect().catch((e) => Promise.reject(sourceError(e, this.src.url)));
      const tables = new Map<string, TableInfo>();
      for (const t of this.src.tables) tables.set(t, await describeTable(client, t));
      await ensurePublication(client, this.publication, this.src.tables);

      let start = fenced.position;
      const slot = await slotInfo(client, this.slot);
      if (start?.snapshotDone && !slot) {
        throw new TributaryError("SOURCE_INVALID", `replication slot ${this.slot} is gone but stream ${d.spec.id} resumes from LSN ${start.lsn}: changes since then cannot be read. Re-snapshot the stream (POST /v1/streams/${d.spec.id}/snapshot) to start over.`);
      }
      if (!start || !slot) {
        // first run (or a slot without any checkpoint of ours: nothing was published from it)
        if (slot) await dropSlot(client, this.slot);
        start = await this.snapshot(client, tables, pub, ctl, cpr, null);
        if (!start) return; // stopped or aborted during the snapshot; it resumes next time
      } else if (!start.snapshotDone) {
        // an interrupted snapshot: read a new one but keep streaming from the FIRST attempt's
        // point, so rows published then and deleted since are deleted again downstream
        if (slot.active) await terminateSlotHolder(client, this.slot);
        start = await this.snapshot(client, tables, pub, ctl, cpr, start);
        if (!start) return;
      } else if (slot.active) {
        // we hold the lease and fenced the position: a walsender still streaming to a previous owner is stale
        d.log.warn({ pid: slot.activePid }, "replication slot held by a stale connection; terminating it");
        await terminateSlotHolder(client, this.slot);
      }
      ctl.progress(start);
      await this.stream(client, start, pub, cpr, ctl, (s) => (service = s));
    } finally {
      pub.close();
      await client.end().catch(() => undefined);
    }
  }

  /**
   * Publishes every existing row as op "r" from an exported snapshot. First attempt: the
   * stream's slot is created with the snapshot, whose consistent point is checkpointed
   * (snapshotDone: false) before any row is published. A retry after an interruption takes
   * its snapshot from a temporary slot and keeps the first point, from which streaming then
   * replays every change since, deletes included; its rows sort after the earlier attempt's.
   */
  private async snapshot(client: pg.Client, tables: Map<string, TableInfo>, pub: EventPublisher, ctl: WorkControl, cpr: Checkpointer<PgCheckpoint>, previous: PgCheckpoint | null): Promise<PgCheckpoint | null> {
    const { d } = this;
    const want = this.src.snapshot === "initial";
    const attempt = (previous?.attempt ?? 0) + 1;
    const repl = new pg.Client({ connectionString: this.src.url, options: SESSION_OPTIONS, replication: "database" } as pg.ClientConfig);
    repl.on("error", () => undefined);
    await repl.connect().catch((e) => Promise.reject(sourceError(e, this.src.url)));
    let consistentPoint: string;
    try {
      const slot = previous
        ? await createSlot(repl, `${this.slot.slice(0, 54)}_snap${attempt}`, true, true)
        : await createSlot(repl, this.slot, want);
      consistentPoint = previous ? previous.lsn : slot.consistentPoint;
      if (!want) {
        const done = { lsn: consistentPoint, snapshotDone: true, slot: this.slot };
        await cpr.write(done);
        return done;
      }
      await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      await client.query(`SET TRANSACTION SNAPSHOT '${slot.snapshotName}'`);
      // nothing is published before this is durable: a crash now retries from this point
      await cpr.write({ lsn: consistentPoint, snapshotDone: false, slot: this.slot, attempt });
    } finally {
      await repl.end().catch(() => undefined); // also drops a temporary slot
    }
    d.log.info({ slot: this.slot, consistentPoint, attempt, tables: [...tables.keys()] }, "snapshot started");
    let index = 0;
    const tsMs = Date.now();
    try {
      for (const t of tables.values()) {
        const shape = shapeOf(t.schema, t.table, t.columns, t.keyColumns);
        const subject = d.cp.names.cdcSubject(d.spec.id, t.schema, t.table);
        for await (const rows of readTable(client, t.schema, t.table, t.columns.map((c) => c.name), this.src.snapshotBatchRows, ctl.signal)) {
          if (ctl.isStopping()) return null;
          for (const r of rows) {
            const after = toRow(shape, r);
            const pos = encodeSnapshotPos(consistentPoint, attempt, index++);
            const { json, keyJson } = encodeEvent(shape, "r", null, after, keyOf(shape, after), { stream: d.spec.id, db: this.db, pos, txId: null, tsMs, snapshot: true });
            if (await pub.publishEncoded(subject, { op: "r", schema: shape.schema, table: shape.table, keyJson, json }, pos)) d.metrics.eventsRead.inc({ stream: d.spec.id });
          }
        }
      }
      await client.query("COMMIT");
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw sourceError(err, this.src.url);
    }
    d.log.info({ rows: index, attempt }, "snapshot finished");
    const done = { lsn: consistentPoint, snapshotDone: true, slot: this.slot, attempt };
    await pub.drain();
    await cpr.write(done);
    return done;
  }

  /** Streams changes until stopped, aborted or failed. */
  private async stream(client: pg.Client, from: PgCheckpoint, pub: EventPublisher, cpr: Checkpointer<PgCheckpoint>, ctl: WorkControl, onService: (s: LogicalReplicationService) => void): Promise<void> {
    const { d } = this;
    const service = new LogicalReplicationService(
      { connectionString: this.src.url, options: SESSION_OPTIONS, application_name: `tributary:${d.spec.id}` } as pg.ClientConfig,
      { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: true } },
    );
    onService(service);
    const plugin = new TextPgoutputPlugin({ protoVersion: 1, publicationNames: [this.publication] });
    const shapes = new Map<number, RelationShape>();
    const subjects = new Map<number, string>();
    const keyCache = new Map<string, string[]>();
    let tx: { lsn: string; xid: number; tsMs: number; index: number; posPrefix: string; meta: EventMeta } | null = null;
    let read = 0; // events published since the last commit, for the metric
    const latch = new FailLatch();
    const fail = latch.fail;

    const publish = async (relationOid: number, s: RelationShape, op: Op, before: Row | null, after: Row | null, key: Row) => {
      const meta = tx!.meta;
      const pos = (meta.pos = eventPos(tx!.posPrefix, tx!.index++));
      const { json, keyJson } = encodeEvent(s, op, before, after, key, meta);
      if (await pub.publishEncoded(subjects.get(relationOid)!, { op, schema: s.schema, table: s.table, keyJson, json }, pos)) read++;
    };

    service.on("data", async (_lsn: string, msg: Pgoutput.Message) => {
      if (latch.halted || ctl.isStopping()) return;
      try {
        switch (msg.tag) {
          case "relation": {
            const qualified = `${msg.schema}.${msg.name}`;
            const types = await typesByOid(client, msg.columns.map((c) => c.typeOid));
            let keys = keyCache.get(qualified);
            if (!keys) {
              keys = (await describeTable(client, qualified)).keyColumns;
              keyCache.set(qualified, keys);
            }
            const cols = msg.columns.map((c) => ({ name: c.name, type: types.get(c.typeOid) ?? { oid: c.typeOid, name: "" } }));
            const present = new Set(cols.map((c) => c.name));
            shapes.set(msg.relationOid, shapeOf(msg.schema, msg.name, cols, keys.filter((k) => present.has(k)).length ? keys.filter((k) => present.has(k)) : msg.keyColumns));
            subjects.set(msg.relationOid, d.cp.names.cdcSubject(d.spec.id, msg.schema, msg.name));
            break;
          }
          case "begin": {
            const lsn = bigIntToLsn(lsnToBigInt(msg.commitLsn ?? _lsn));
            const tsMs = Number(BigInt(msg.commitTime as bigint) / 1000n);
            tx = { lsn, xid: msg.xid, tsMs, index: 0, posPrefix: eventPosPrefix(lsn, "t"), meta: this.meta({ xid: msg.xid, tsMs }) };
            break;
          }
          case "insert": {
            const s = shapes.get(msg.relation.relationOid)!;
            const after = toRow(s, msg.new);
            await publish(msg.relation.relationOid, s, "c", null, after, keyOf(s, after));
            break;
          }
          case "update": {
            const s = shapes.get(msg.relation.relationOid)!;
            const after = toRow(s, msg.new);
            const before = msg.old ? toRow(s, msg.old) : null;
            const newKey = keyOf(s, after);
            const oldKey = msg.key ? keyOf(s, toRow(s, msg.key)) : before ? keyOf(s, before) : newKey;
            if (keysDiffer(oldKey, newKey)) {
              // a primary-key change: the old key disappears, the new one appears (as Debezium does)
              await publish(msg.relation.relationOid, s, "d", before ?? oldKey, null, oldKey);
              await publish(msg.relation.relationOid, s, "c", null, after, newKey);
            } else {
              await publish(msg.relation.relationOid, s, "u", before, after, newKey);
            }
            break;
          }
          case "delete": {
            const s = shapes.get(msg.relation.relationOid)!;
            const before = toRow(s, msg.old ?? msg.key);
            await publish(msg.relation.relationOid, s, "d", before, null, keyOf(s, before));
            break;
          }
          case "truncate":
            for (const rel of msg.relations) {
              const s = shapes.get(rel.relationOid);
              if (s) await publish(rel.relationOid, s, "t", null, null, {});
            }
            break;
          case "commit": {
            cpr.boundary(pub.count, { lsn: tx?.lsn ?? msg.commitLsn!, snapshotDone: true, slot: this.slot });
            tx = null;
            if (read) d.metrics.eventsRead.inc({ stream: d.spec.id }, read);
            read = 0;
            await cpr.maybe(pub.acked);
            break;
          }
          default:
            break;
        }
      } catch (err) {
        fail(err);
      }
    });
    let lastHeartbeatAdvance = performance.now();
    service.on("heartbeat", async (lsn: string, _ts: number, shouldRespond: boolean) => {
      if (latch.halted) return;
      try {
        const committed = cpr.committed!;
        const idle = tx === null && cpr.idle && pub.acked === pub.count;
        if (idle && compareLsn(lsn, committed.lsn) > 0 && performance.now() - lastHeartbeatAdvance >= d.cfg.checkpoint.interval) {
          // nothing of ours is in flight: let the slot (and our position) advance past unrelated WAL
          lastHeartbeatAdvance = performance.now();
          await cpr.write({ ...committed, lsn });
        } else if (shouldRespond) {
          await service.acknowledge(committed.lsn);
        }
      } catch (err) {
        fail(err);
      }
    });
    service.on("error", (err: unknown) => fail(sourceError(err, this.src.url)));

    const ticker = setInterval(() => {
      if (latch.halted) return;
      if (pub.chain.error) return fail(pub.chain.error);
      cpr.maybe(pub.acked).catch(fail);
    }, Math.max(50, Math.min(1000, d.cfg.checkpoint.interval)));
    const statusTicker = setInterval(() => {
      if (!latch.halted && cpr.committed && !service.isStop()) service.acknowledge(cpr.committed.lsn).catch(() => undefined);
    }, 10_000);

    const replication = service.subscribe(plugin, this.slot, from.lsn).then(
      () => {
        if (!latch.halted && !ctl.isStopping()) fail(new TributaryError("SOURCE_UNAVAILABLE", `replication connection to ${redact(this.src.url)} ended`));
      },
      (err) => fail(sourceError(err, this.src.url)),
    );
    void replication;
    service.once("start", () => {
      d.log.info({ slot: this.slot, from: from.lsn }, "streaming changes");
      ctl.ready();
    });

    try {
      await Promise.race([latch.failed, ctl.ended]);
      if (ctl.signal.aborted) return;
      // graceful: stop intake, await acks, final checkpoint (which acknowledges the LSN), close
      latch.halted = true;
      await pub.drain();
      await cpr.maybe(pub.acked, true);
      d.log.info({ position: cpr.committed }, "reader stopped gracefully");
      d.probe("stop", cpr.committed);
    } catch (err) {
      throw toTributaryError(err, "SOURCE_UNAVAILABLE");
    } finally {
      latch.halted = true;
      clearInterval(ticker);
      clearInterval(statusTicker);
      await service.stop().catch(() => undefined);
      service.removeAllListeners();
    }
  }

  private meta(tx: { xid: number; tsMs: number }): EventMeta {
    return { stream: this.d.spec.id, db: this.db, pos: "", txId: tx.xid, tsMs: tx.tsMs, snapshot: false };
  }
}

async function terminateSlotHolder(c: pg.Client, slot: string): Promise<void> {
  await c.query(`SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL`, [slot]);
  for (let i = 0; i < 50; i++) {
    const r = await c.query(`SELECT active FROM pg_replication_slots WHERE slot_name = $1`, [slot]);
    if (!r.rows[0]?.active) return;
    await new Promise((res) => setTimeout(res, 100));
  }
}
