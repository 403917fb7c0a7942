/**
 * The PostgreSQL source (the source contract's adapter for logical replication): check the
 * tables and the publication, take a consistent snapshot when one is due, then stream
 * pgoutput changes from the checkpointed LSN in commit-bounded batches. The kernel
 * publishes and checkpoints; only after a checkpoint is durable does `commit` acknowledge
 * the LSN to PostgreSQL (the library's own acknowledgement is turned off: it would confirm
 * LSNs before they are safe).
 */
import pg from "pg";
import { LogicalReplicationService, PgoutputPlugin, type Pgoutput } from "pg-logical-replication";
import { TributaryError, redactUrl } from "../../base/index.js";
import { ChangeQueue, type SourceBatch, type SourceChange, type SourceConnector, type SourceContext, type SourceDeps } from "../../core/index.js";
import type { Op, Row } from "../../events/index.js";
import { describeTable, dropSlot, ensurePublication, qi, slotInfo, typesByOid, SESSION_OPTIONS, type TableInfo } from "./catalog.js";
import { encodeEvent, insertOnlyShape, keyOf, keysDiffer, shapeOf, toRow, type EventMeta, type RelationShape } from "./event-builder.js";
import { checkKeylessTable, insertOnlyRow, KeylessSkips, warnKeylessRetry } from "../shared/index.js";
import { readerNames } from "./names.js";
import { claimResources, ownedBy, releaseResources, type OwnedResource } from "./ownership.js";
import { bigIntToLsn, compareLsn, encodeSnapshotPos, eventPos, eventPosPrefix, lsnToBigInt, type PgCheckpoint } from "./position.js";
import type { PostgresSourceSpec } from "./schema.js";
import { createSlot, readTable } from "./snapshot.js";

/** Keeps pgoutput values as TEXT: the parser is swapped synchronously, before any tuple of the relation is parsed. */
class TextPgoutputPlugin extends PgoutputPlugin {
  override parse(buffer: Buffer): Pgoutput.Message {
    const m = super.parse(buffer);
    if (m.tag === "relation") for (const c of m.columns) c.parser = (raw: unknown) => raw;
    return m;
  }
}

/** Maps a pg connection error to SOURCE_UNAVAILABLE / SOURCE_INVALID naming the database. */
export function sourceError(err: unknown, url: string): TributaryError {
  if (err instanceof TributaryError) return err;
  const e = err as { message?: string; code?: string };
  const msg = `PostgreSQL source ${redactUrl(url)}: ${e.message ?? String(err)}`;
  // 28xxx auth, 3D000 unknown database, 42xxx: not retryable as is
  if (e.code && /^(28|3D|42)/.test(e.code)) return new TributaryError("SOURCE_INVALID", msg, { cause: err });
  return new TributaryError("SOURCE_UNAVAILABLE", msg, { cause: err });
}

/**
 * True while pg-logical-replication still holds received changes it has not handed to us
 * (its flow-control queue). A keepalive then says nothing about those changes, so it must
 * not advance our position. An unknown library shape counts as idle (the old behaviour).
 */
function libraryBusy(service: LogicalReplicationService): boolean {
  const s = service as unknown as { _processing?: unknown; _messageQueue?: unknown };
  return s._processing === true || (Array.isArray(s._messageQueue) && s._messageQueue.length > 0);
}

/** The transaction being streamed: its events' positions share the commit LSN. */
interface OpenTx {
  lsn: string;
  index: number;
  posPrefix: string;
  meta: EventMeta;
}

/** The `stream` actor's source for a `type: postgres` source. */
export class PostgresSource implements SourceConnector<PgCheckpoint> {
  /** set by read(): the checkpoint may name the slot (docs/adr/0010) */
  private slot = "";
  private publication = "";
  private readonly db: string;
  private client: pg.Client | null = null;
  private service: LogicalReplicationService | null = null;
  private statusTicker: NodeJS.Timeout | undefined;
  /** updates and deletes of keyless tables that insert-only mode does not apply */
  private readonly keylessSkips: KeylessSkips;
  /** the newest position known durable: what keepalives acknowledge */
  private committed: PgCheckpoint | null = null;

  constructor(private readonly src: PostgresSourceSpec, private readonly d: SourceDeps) {
    this.db = decodeURIComponent(new URL(src.url).pathname.replace(/^\//, "")) || "postgres";
    this.keylessSkips = new KeylessSkips(d.stream.id, d.metrics, d.log);
  }

  async *read(ctx: SourceContext<PgCheckpoint>): AsyncGenerator<SourceBatch<PgCheckpoint>, void> {
    const { d } = this;
    const client = (this.client = new pg.Client({ connectionString: this.src.url, options: SESSION_OPTIONS, application_name: `tributary:${d.stream.id}` }));
    client.on("error", () => undefined);
    await client.connect().catch((e) => Promise.reject(sourceError(e, this.src.url)));
    const tables = new Map<string, TableInfo>();
    for (const t of this.src.tables) tables.set(t, this.checkKeyless(await describeTable(client, t)));
    ({ slot: this.slot, publication: this.publication } = readerNames(this.src, d.settings.cluster, d.stream.id, ctx.checkpoint?.slot));
    // before touching either: another stream's slot or publication is refused, not fought over
    await claimResources(client, { cluster: d.settings.cluster, stream: d.stream.id }, [
      { kind: "slot", name: this.slot },
      { kind: "publication", name: this.publication },
    ]).catch((e: unknown) => Promise.reject(sourceError(e, this.src.url)));
    let start = ctx.checkpoint;
    const slot = await slotInfo(client, this.slot);
    if (slot && !slot.sameDatabase) {
      throw new TributaryError("SOURCE_INVALID", `stream ${d.stream.id}: replication slot ${this.slot} exists for database ${slot.database}, not ${this.db}; slot names are shared by the whole server: give this stream its own (source.slot)`);
    }
    await ensurePublication(client, this.publication, this.src.tables);
    if (start?.snapshotDone && !slot) {
      throw new TributaryError("SOURCE_INVALID", `replication slot ${this.slot} is gone but stream ${d.stream.id} resumes from LSN ${start.lsn}: changes since then cannot be read. Re-snapshot the stream (POST /v1/streams/${d.stream.id}/snapshot) to start over.`);
    }
    if (!start || !slot) {
      // first run (or a slot without any checkpoint of ours: nothing was published from it)
      if (slot) await dropSlot(client, this.slot);
      if (!start) await this.dropLeftovers(client);
      start = yield* this.snapshot(client, tables, ctx, null);
      if (!start) return; // stopped or aborted during the snapshot; it resumes next time
    } else if (!start.snapshotDone) {
      // an interrupted snapshot: read a new one but keep streaming from the FIRST attempt's
      // point, so rows published then and deleted since are deleted again downstream
      if (slot.active) await terminateSlotHolder(client, this.slot);
      start = yield* this.snapshot(client, tables, ctx, start);
      if (!start) return;
    } else if (slot.active) {
      // we hold the lease and fenced the position: a walsender still streaming to a previous owner is stale
      d.log.warn({ pid: slot.activePid }, "replication slot held by a stale connection; terminating it");
      await terminateSlotHolder(client, this.slot);
    }
    this.committed ??= start;
    yield* this.stream(client, start, ctx);
  }

  /**
   * A stream that starts over (no checkpoint: a re-snapshot, or its position deleted) drops
   * the other slots and publications it owns, so that a slot it used before (a legacy
   * `tributary_<id>` name, a changed `source.slot`) does not keep WAL forever.
   */
  private async dropLeftovers(client: pg.Client): Promise<void> {
    const owner = { cluster: this.d.settings.cluster, stream: this.d.stream.id };
    const stale = (await ownedBy(client, owner)).filter((r) => r.name !== (r.kind === "slot" ? this.slot : this.publication));
    const dropped: OwnedResource[] = [];
    for (const r of stale) {
      if (r.kind === "slot") {
        const s = await slotInfo(client, r.name);
        if (s && !s.sameDatabase) continue;
        if (s) await dropSlot(client, r.name);
      } else {
        await client.query(`DROP PUBLICATION IF EXISTS ${qi(r.name)}`);
      }
      dropped.push(r);
    }
    if (!dropped.length) return;
    await releaseResources(client, owner, dropped);
    this.d.log.warn({ dropped }, "starting over: dropped the slots and publications this stream used before");
  }

  /** `p` is checkpointed: only now may PostgreSQL recycle WAL up to it. */
  async commit(p: PgCheckpoint): Promise<void> {
    this.committed = p;
    if (this.service && !this.service.isStop()) await this.service.acknowledge(p.lsn);
  }

  async close(): Promise<void> {
    clearInterval(this.statusTicker);
    const service = this.service;
    this.service = null;
    if (service) {
      await service.stop().catch(() => undefined);
      service.removeAllListeners();
    }
    await this.client?.end().catch(() => undefined);
    this.client = null;
  }

  /**
   * Yields every existing row as op "r" from an exported snapshot and returns the position
   * to stream from (null when stopped first). First attempt: the stream's slot is created
   * with the snapshot, whose consistent point is made durable (snapshotDone: false) before
   * any row is published. A retry after an interruption takes its snapshot from a temporary
   * slot and keeps the first point, from which streaming then replays every change since,
   * deletes included; its rows sort after the earlier attempt's.
   */
  private async *snapshot(client: pg.Client, tables: Map<string, TableInfo>, ctx: SourceContext<PgCheckpoint>, previous: PgCheckpoint | null): AsyncGenerator<SourceBatch<PgCheckpoint>, PgCheckpoint | null> {
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
        yield { changes: [], position: done, durable: true };
        return done;
      }
      await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      await client.query(`SET TRANSACTION SNAPSHOT '${slot.snapshotName}'`);
      // nothing is published before this is durable: a crash now retries from this point
      yield { changes: [], position: { lsn: consistentPoint, snapshotDone: false, slot: this.slot, attempt }, durable: true };
    } finally {
      await repl.end().catch(() => undefined); // also drops a temporary slot
    }
    d.log.info({ slot: this.slot, consistentPoint, attempt, tables: [...tables.keys()] }, "snapshot started");
    warnKeylessRetry(d.log, attempt, [...tables.values()].filter((t) => t.keyless).map((t) => `${t.schema}.${t.table}`));
    let index = 0;
    const tsMs = Date.now();
    try {
      for (const t of tables.values()) {
        const plain = shapeOf(t.schema, t.table, t.columns, t.keyColumns);
        const shape = t.keyless ? insertOnlyShape(plain) : plain;
        for await (const rows of readTable(client, t.schema, t.table, t.columns.map((c) => c.name), this.src.snapshotBatchRows, ctx.signal)) {
          if (ctx.signal.aborted) return null;
          const changes: SourceChange[] = new Array(rows.length);
          for (let i = 0; i < rows.length; i++) {
            const row = toRow(shape, rows[i]);
            const pos = encodeSnapshotPos(consistentPoint, attempt, index++);
            const { after, key } = shape.keyless ? insertOnlyRow(row, pos) : { after: row, key: keyOf(shape, row) };
            const { json, keyJson } = encodeEvent(shape, "r", null, after, key, { stream: d.stream.id, db: this.db, pos, txId: null, tsMs, snapshot: true });
            changes[i] = { schema: shape.schema, table: shape.table, op: "r", pos, json, keyJson };
          }
          yield { changes };
        }
      }
      // readTable ends early once stopped: the snapshot is then incomplete and must not be declared done
      if (ctx.signal.aborted) return null;
      await client.query("COMMIT");
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw sourceError(err, this.src.url);
    }
    d.log.info({ rows: index, attempt }, "snapshot finished");
    const done = { lsn: consistentPoint, snapshotDone: true, slot: this.slot, attempt };
    yield { changes: [], position: done, durable: true };
    return done;
  }

  /**
   * Streams changes until stopped or failed: the library's callbacks decode each message
   * into the queue (and wait only when it is full); commits are the resume points.
   */
  private async *stream(client: pg.Client, from: PgCheckpoint, ctx: SourceContext<PgCheckpoint>): AsyncGenerator<SourceBatch<PgCheckpoint>, void> {
    const { d, src } = this;
    const service = (this.service = new LogicalReplicationService(
      { connectionString: src.url, options: SESSION_OPTIONS, application_name: `tributary:${d.stream.id}` } as pg.ClientConfig,
      { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: true } },
    ));
    const plugin = new TextPgoutputPlugin({ protoVersion: 1, publicationNames: [this.publication] });
    const q = new ChangeQueue<PgCheckpoint>();
    const shapes = new Map<number, RelationShape>();
    const keyCache = new Map<string, { keys: string[]; keyless: boolean }>();
    let tx: OpenTx | null = null;

    /** Queues one change of the open transaction; true when the queue is full. */
    const add = (s: RelationShape, op: Op, before: Row | null, after: Row | null, key: Row): boolean => {
      const t = tx!;
      const pos = (t.meta.pos = eventPos(t.posPrefix, t.index++));
      if (s.keyless && op === "c") ({ after, key } = insertOnlyRow(after, pos));
      const { json, keyJson } = encodeEvent(s, op, before, after, key, t.meta);
      return q.add({ schema: s.schema, table: s.table, op, pos, json, keyJson });
    };

    // called (and awaited) by the library one message at a time; returns a promise only to wait
    const onData = (lsn: string, msg: Pgoutput.Message): Promise<void> | undefined => {
      if (ctx.signal.aborted) return undefined;
      try {
        let full = false;
        switch (msg.tag) {
          case "relation":
            return this.relation(client, msg, shapes, keyCache).catch((err: unknown) => q.fail(err));
          case "begin": {
            const commitLsn = bigIntToLsn(lsnToBigInt(msg.commitLsn ?? lsn));
            const tsMs = Number(BigInt(msg.commitTime as bigint) / 1000n);
            tx = { lsn: commitLsn, index: 0, posPrefix: eventPosPrefix(commitLsn, "t"), meta: { stream: d.stream.id, db: this.db, pos: "", txId: msg.xid, tsMs, snapshot: false } };
            break;
          }
          case "insert": {
            const s = shapes.get(msg.relation.relationOid)!;
            const after = toRow(s, msg.new);
            full = add(s, "c", null, after, keyOf(s, after));
            break;
          }
          case "update": {
            const s = shapes.get(msg.relation.relationOid)!;
            if (s.keyless) {
              this.keylessSkips.skip(`${s.schema}.${s.table}`, "update");
              break;
            }
            const after = toRow(s, msg.new);
            const before = msg.old ? toRow(s, msg.old) : null;
            const newKey = keyOf(s, after);
            const oldKey = msg.key ? keyOf(s, toRow(s, msg.key)) : before ? keyOf(s, before) : newKey;
            if (keysDiffer(oldKey, newKey)) {
              // a primary-key change: the old key disappears, the new one appears (as Debezium does)
              full = add(s, "d", before ?? oldKey, null, oldKey);
              full = add(s, "c", null, after, newKey) || full;
            } else {
              full = add(s, "u", before, after, newKey);
            }
            break;
          }
          case "delete": {
            const s = shapes.get(msg.relation.relationOid)!;
            if (s.keyless) {
              this.keylessSkips.skip(`${s.schema}.${s.table}`, "delete");
              break;
            }
            const before = toRow(s, msg.old ?? msg.key);
            full = add(s, "d", before, null, keyOf(s, before));
            break;
          }
          case "truncate":
            for (const rel of msg.relations) {
              const s = shapes.get(rel.relationOid);
              if (s) full = add(s, "t", null, null, {}) || full;
            }
            break;
          case "commit":
            full = q.boundary({ lsn: tx?.lsn ?? msg.commitLsn!, snapshotDone: true, slot: this.slot });
            tx = null;
            break;
          default:
            break;
        }
        return full ? q.space() : undefined;
      } catch (err) {
        q.fail(err);
        return undefined;
      }
    };
    service.on("data", onData);

    let lastAdvance = performance.now();
    service.on("heartbeat", (lsn: string, _ts: number, shouldRespond: boolean) => {
      if (ctx.signal.aborted) return;
      const committed = this.committed ?? from;
      const idle = tx === null && q.size === 0 && !libraryBusy(service) && ctx.settled();
      if (idle && compareLsn(lsn, committed.lsn) > 0 && performance.now() - lastAdvance >= d.settings.checkpoint.interval) {
        // nothing of ours is open or in flight: let the slot (and our position) advance past unrelated WAL
        lastAdvance = performance.now();
        q.boundary({ ...committed, lsn });
      } else if (shouldRespond) {
        service.acknowledge(committed.lsn).catch((err: unknown) => q.fail(sourceError(err, src.url)));
      }
    });
    service.on("error", (err: unknown) => q.fail(sourceError(err, src.url)));
    this.statusTicker = setInterval(() => {
      const c = this.committed;
      if (c && !service.isStop()) service.acknowledge(c.lsn).catch(() => undefined);
    }, 10_000);
    service.once("start", () => {
      d.log.info({ slot: this.slot, from: from.lsn }, "streaming changes");
      ctx.ready();
    });
    void service.subscribe(plugin, this.slot, from.lsn).then(
      () => {
        if (!ctx.signal.aborted) q.fail(new TributaryError("SOURCE_UNAVAILABLE", `replication connection to ${redactUrl(src.url)} ended`));
      },
      (err: unknown) => q.fail(sourceError(err, src.url)),
    );

    // stop: end the iteration; the connection stays open until close(), after the final checkpoint acknowledged its LSN
    const onStop = () => q.close();
    ctx.signal.addEventListener("abort", onStop, { once: true });
    try {
      for (;;) {
        const b = await q.pull();
        if (!b) return;
        yield b;
      }
    } finally {
      ctx.signal.removeEventListener("abort", onStop);
      q.close();
    }
  }

  /** A relation message: the table's shape (types by oid, key columns from the catalog), before any of its tuples. */
  private async relation(client: pg.Client, msg: Pgoutput.MessageRelation, shapes: Map<number, RelationShape>, keyCache: Map<string, { keys: string[]; keyless: boolean }>): Promise<void> {
    const qualified = `${msg.schema}.${msg.name}`;
    const types = await typesByOid(client, msg.columns.map((c) => c.typeOid));
    let cached = keyCache.get(qualified);
    if (!cached) {
      const t = this.checkKeyless(await describeTable(client, qualified));
      cached = { keys: t.keyColumns, keyless: t.keyless };
      keyCache.set(qualified, cached);
    }
    const cols = msg.columns.map((c) => ({ name: c.name, type: types.get(c.typeOid) ?? { oid: c.typeOid, name: "" } }));
    const present = new Set(cols.map((c) => c.name));
    const known = cached.keys.filter((k) => present.has(k));
    const shape = shapeOf(msg.schema, msg.name, cols, known.length ? known : msg.keyColumns);
    shapes.set(msg.relationOid, cached.keyless ? insertOnlyShape(shape) : shape);
  }

  /**
   * A table without a primary key is refused unless the stream replicates such tables
   * insert-only (docs/types.md): keyed by all its columns, a target would collapse duplicate
   * rows into one and could not hold a row with a NULL.
   */
  private checkKeyless(t: TableInfo): TableInfo {
    if (t.keyless) checkKeylessTable(this.d.stream.id, `${t.schema}.${t.table}`, t.columns.map((c) => c.name), this.src.keylessTables, "ALTER TABLE … ADD PRIMARY KEY (…)");
    return t;
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
