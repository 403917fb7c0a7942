/**
 * PostgresSinkWriter against the machine's real PostgreSQL (127.0.0.1:5432, user postgres)
 * in a database of its own: exact values, coalescing, exactly-once replay, autoCreate,
 * COPY, fencing and the error verdicts.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChangeEvent, Op, Row } from "../../events/index.js";
import { sinkBatch, type SinkOffset, type SinkRecord } from "../../core/index.js";
import { SinkWriteError } from "./sink-errors.js";
import { PostgresSinkWriter, type PostgresSinkWriterOptions } from "./sink-writer.js";

const DB = `sw_${randomBytes(6).toString("hex")}`;
const URL = `postgres://postgres@127.0.0.1:5432/${DB}`;
const log = pino({ level: "silent" });
let admin: pg.Client;
let db: pg.Client;
const writers: PostgresSinkWriter[] = [];

/** Applies `records` as one batch (the sink kernel's call). */
function applyBatch(w: PostgresSinkWriter, records: readonly SinkRecord[], offset: SinkOffset): Promise<void> {
  return w.apply(sinkBatch(records, (s) => w.target(s)), offset);
}

async function open(opts: Partial<PostgresSinkWriterOptions> = {}, logger = log): Promise<PostgresSinkWriter> {
  const w = await PostgresSinkWriter.open({ url: URL, table: "{schema}.{table}", autoCreate: false, sinkId: `s_${randomBytes(4).toString("hex")}`, cluster: "t", ...opts }, logger);
  writers.push(w);
  return w;
}

let seqCounter = 0;
function ev(op: Op, table: string, o: { key?: Row; after?: Row; before?: Row; types?: Record<string, string>; schema?: string } = {}): SinkRecord {
  const event: ChangeEvent = {
    op,
    before: o.before ?? null,
    after: o.after ?? null,
    key: o.key ?? {},
    source: { connector: "postgres", stream: "orders", db: "src", schema: o.schema ?? "app", table, pos: "0/0", txId: 1, ts_ms: 1, snapshot: false },
    ts_ms: 2,
    ...(o.types ? { types: o.types } : {}),
  };
  return { seq: ++seqCounter, event };
}

async function rows(sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
  return (await db.query(sql, params)).rows as Record<string, unknown>[];
}

async function offsets(sinkId: string): Promise<Record<string, unknown> | undefined> {
  return (await rows("SELECT seq::text, epoch::text, updated_at FROM tributary.sink_offsets WHERE sink_id = $1", [`t.${sinkId}`]))[0];
}

async function failure(p: Promise<unknown>): Promise<SinkWriteError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(SinkWriteError);
  return err as SinkWriteError;
}

beforeAll(async () => {
  admin = new pg.Client({ host: "127.0.0.1", port: 5432, user: "postgres", database: "postgres" });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${DB}`);
  db = new pg.Client({ connectionString: URL });
  await db.connect();
  await db.query(`CREATE SCHEMA app`);
  await db.query(`CREATE TABLE app.typed (
    id bigint PRIMARY KEY, big bigint, amount numeric(40,12), at timestamptz, doc jsonb, doc2 json,
    tags text[], nums int4[], bin bytea, name text, note text, keep text, flag boolean, ratio float8)`);
});

afterAll(async () => {
  for (const w of writers) await w.close();
  await db?.end();
  await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", [DB]);
  await admin.query(`DROP DATABASE IF EXISTS ${DB}`);
  await admin.end();
});

const TYPED_ROW: Row = {
  id: 1,
  big: "9223372036854775807",
  amount: "12345678901234567890.123456789012",
  at: "2024-03-01T07:04:56.123456Z",
  doc: '{"s": "é🎉\\"", "n": 12345678901234567890.5, "z": [null, true]}',
  doc2: { a: [1, 2], b: null },
  tags: ["a,b", 'c"d', "e\\f", null, "NULL", "", "🎉"],
  nums: [1, null, 3],
  bin: Buffer.from([0, 255, 10, 92, 9, 13]).toString("base64"),
  name: "Zoë 🎉 tab\there\nnewline \\ back",
  note: null,
  keep: "from insert",
  flag: true,
  ratio: 0.1 + 0.2,
};

/** The typed row read back as exact text per column. */
async function typedRow(id: number): Promise<Record<string, unknown> | undefined> {
  return (
    await rows(
      `SELECT big::text, amount::text, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS at,
              doc = $2::jsonb AS doc_ok, doc2::text, tags, nums::text, encode(bin, 'hex') AS bin,
              name, note, keep, flag, ratio::text
         FROM app.typed WHERE id = $1`,
      [id, '{"z":[null,true],"n":12345678901234567890.5,"s":"é🎉\\""}'],
    )
  )[0];
}

describe("PostgresSinkWriter", () => {
  it("writes every type exactly and keeps absent columns (unchanged TOAST)", async () => {
    const w = await open();
    await applyBatch(w, 
      [
        ev("c", "typed", { key: { id: 1 }, after: TYPED_ROW }),
        ev("c", "typed", { key: { id: 2 }, after: { ...TYPED_ROW, id: 2 } }),
        // Update without `keep` and `doc`: both keep their values; `note` becomes 'set', then NULL.
        ev("u", "typed", { key: { id: 2 }, after: { id: 2, note: "set", name: "second" } }),
        ev("u", "typed", { key: { id: 2 }, after: { id: 2, note: null } }),
      ],
      { seq: seqCounter, epoch: 1 },
    );
    const expected = {
      big: "9223372036854775807",
      amount: "12345678901234567890.123456789012",
      at: "2024-03-01 07:04:56.123456",
      doc_ok: true,
      doc2: '{"a":[1,2],"b":null}',
      tags: ["a,b", 'c"d', "e\\f", null, "NULL", "", "🎉"],
      nums: "{1,NULL,3}",
      bin: "00ff0a5c090d",
      name: "Zoë 🎉 tab\there\nnewline \\ back",
      note: null,
      keep: "from insert",
      flag: true,
      ratio: "0.30000000000000004",
    };
    expect(await typedRow(1)).toEqual(expected);
    expect(await typedRow(2)).toEqual({ ...expected, name: "second" });
  });

  it("stores the checkpoint in the same transaction and replays idempotently", async () => {
    const w = await open();
    const sinkId = (w as unknown as { opts: PostgresSinkWriterOptions }).opts.sinkId;
    expect(await w.readOffset()).toEqual({ seq: 0, epoch: 0 });
    const batch = [
      ev("c", "typed", { key: { id: 10 }, after: { id: 10, name: "a" } }),
      ev("u", "typed", { key: { id: 10 }, after: { id: 10, name: "b" } }),
      ev("c", "typed", { key: { id: 11 }, after: { id: 11, name: "x" } }),
    ];
    const last = batch[2]?.seq ?? 0;
    await applyBatch(w, batch, { seq: last, epoch: 3 });
    expect(await w.readOffset()).toEqual({ seq: last, epoch: 3 });
    const stored = await offsets(sinkId);

    // A later change made elsewhere must survive a replay: the replay is skipped, not re-applied.
    await db.query("UPDATE app.typed SET name = 'later' WHERE id = 10");
    await applyBatch(w, batch, { seq: last, epoch: 3 });
    expect(await rows("SELECT id, name FROM app.typed WHERE id IN (10, 11) ORDER BY id")).toEqual([
      { id: "10", name: "later" },
      { id: "11", name: "x" },
    ]);
    expect(await offsets(sinkId)).toEqual(stored);

    // An overlapping batch applies only its new records.
    const more = ev("u", "typed", { key: { id: 11 }, after: { id: 11, name: "y" } });
    await applyBatch(w, [...batch, more], { seq: more.seq, epoch: 3 });
    expect(await rows("SELECT id, name FROM app.typed WHERE id IN (10, 11) ORDER BY id")).toEqual([
      { id: "10", name: "later" },
      { id: "11", name: "y" },
    ]);
    expect(await w.readOffset()).toEqual({ seq: more.seq, epoch: 3 });

    // A writer of an older epoch is fenced off.
    const fenced = await failure(applyBatch(w, [ev("u", "typed", { key: { id: 11 }, after: { id: 11, name: "stale" } })], { seq: seqCounter, epoch: 2 }));
    expect(fenced.code).toBe("FENCED");
    expect(fenced.retryable).toBe(false);
    expect((await rows("SELECT name FROM app.typed WHERE id = 11"))[0]).toEqual({ name: "y" });
  });

  it("applies deletes, delete-then-create, truncates and composite keys in order", async () => {
    await db.query(`CREATE TABLE app.pairs (a int, b text, v text, w text, PRIMARY KEY (b, a))`);
    await db.query(`INSERT INTO app.pairs VALUES (1, 'x', 'old', 'old-w'), (2, 'x', 'gone', NULL), (3, 'x', 'keep', NULL)`);
    const w = await open();
    await applyBatch(w, 
      [
        ev("d", "pairs", { key: { a: 1, b: "x" } }),
        ev("c", "pairs", { key: { a: 1, b: "x" }, after: { a: 1, b: "x", v: "new" } }), // w must not survive the delete
        ev("d", "pairs", { before: { a: 2, b: "x", v: "gone" } }), // key taken from before
        ev("u", "pairs", { key: { a: 3, b: "x" }, after: { a: 3, b: "x", v: "kept" } }),
      ],
      { seq: seqCounter, epoch: 1 },
    );
    expect(await rows("SELECT a, b, v, w FROM app.pairs ORDER BY a")).toEqual([
      { a: 1, b: "x", v: "new", w: null },
      { a: 3, b: "x", v: "kept", w: null },
    ]);
    await applyBatch(w, 
      [
        ev("c", "pairs", { key: { a: 9, b: "y" }, after: { a: 9, b: "y", v: "dropped by truncate" } }),
        ev("t", "pairs"),
        ev("c", "pairs", { key: { a: 5, b: "z" }, after: { a: 5, b: "z", v: "after truncate" } }),
      ],
      { seq: seqCounter, epoch: 1 },
    );
    expect(await rows("SELECT a, b, v FROM app.pairs ORDER BY a")).toEqual([{ a: 5, b: "z", v: "after truncate" }]);
  });

  it("creates missing tables and columns with autoCreate, quoting odd identifiers", async () => {
    const w = await open({ autoCreate: true, table: "{schema}.{table}_copy" });
    const types = { id: "int8", "Col With Space": "_text", "we\"ird.col": "numeric", doc: "jsonb", at: "timestamptz", bin: "bytea", toasted: "text" };
    await applyBatch(w, 
      [
        ev("c", 'tab"le.1', {
          schema: "My Schema",
          key: { id: "9007199254740993" },
          after: { id: "9007199254740993", "Col With Space": ["a b", null], "we\"ird.col": "1.50", doc: '{"k": 1}', at: "2024-01-01T00:00:00.000001Z", bin: "AAE=" },
          types,
        }),
      ],
      { seq: seqCounter, epoch: 1 },
    );
    const cols = await rows(
      `SELECT column_name, format_type(a.atttypid, a.atttypmod) AS type
         FROM information_schema.columns c JOIN pg_attribute a ON a.attrelid = '"My Schema"."tab""le.1_copy"'::regclass AND a.attname = c.column_name
        WHERE table_schema = 'My Schema' AND table_name = 'tab"le.1_copy' ORDER BY ordinal_position`,
    );
    expect(cols).toEqual([
      { column_name: "id", type: "bigint" },
      { column_name: "Col With Space", type: "text[]" },
      { column_name: 'we"ird.col', type: "numeric" },
      { column_name: "doc", type: "jsonb" },
      { column_name: "at", type: "timestamp with time zone" },
      { column_name: "bin", type: "bytea" },
      { column_name: "toasted", type: "text" },
    ]);
    const pk = await rows(`SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = '"My Schema"."tab""le.1_copy"'::regclass AND contype = 'p'`);
    expect(pk).toEqual([{ def: "PRIMARY KEY (id)" }]);

    // A column the table lacks: typed from `types` when given, else inferred from the value.
    await applyBatch(w, 
      [
        ev("u", 'tab"le.1', { schema: "My Schema", key: { id: "9007199254740993" }, after: { id: "9007199254740993", added: 5, extra: 7 }, types: { ...types, extra: "int2" } }),
      ],
      { seq: seqCounter, epoch: 1 },
    );
    expect(
      await rows(`SELECT id::text, "Col With Space" AS c, "we""ird.col"::text AS n, doc::text, bin, added, extra
                    FROM "My Schema"."tab""le.1_copy"`),
    ).toEqual([{ id: "9007199254740993", c: ["a b", null], n: "1.50", doc: '{"k": 1}', bin: Buffer.from([0, 1]), added: "5", extra: 7 }]);
    expect(await rows(`SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = '"My Schema"."tab""le.1_copy"'::regclass AND attname IN ('added', 'extra') ORDER BY attname`)).toEqual([
      { t: "bigint" },
      { t: "smallint" },
    ]);
  });

  it("uses COPY through a staging table for large batches, with the same exact values", async () => {
    await db.query(`CREATE TABLE app.bulk (id int8 PRIMARY KEY, body text, tags text[], bin bytea, amount numeric, gone text)`);
    await db.query(`INSERT INTO app.bulk (id, gone) SELECT g, 'kept' FROM generate_series(1, 10) g`);
    // Nothing printed: the debug records are only collected, to see which path the rows took.
    const logged: Array<Record<string, unknown>> = [];
    const capture = pino({ level: "debug" }, { write: (line: string) => void logged.push(JSON.parse(line) as Record<string, unknown>) });
    const w = await open({}, capture);
    const batch: SinkRecord[] = [];
    for (let i = 1; i <= 5000; i++) {
      batch.push(
        ev("c", "bulk", {
          key: { id: i },
          after: { id: i, body: `row ${i}\t\\N \\ \n "q" é🎉`, tags: i % 2 ? ["x\ty", null] : [], bin: Buffer.from([i % 256, 0x5c]).toString("base64"), amount: `${i}.000000000000000000001` },
        }),
      );
    }
    batch.push(ev("d", "bulk", { key: { id: 4999 } }));
    await applyBatch(w, batch, { seq: seqCounter, epoch: 1 });
    expect(logged.find((l) => l.msg === "batch applied")).toMatchObject({ records: 5001, upserted: 4999, copied: 4999, deleted: 1 });
    expect((await rows("SELECT count(*)::int AS n, count(gone)::int AS kept FROM app.bulk"))[0]).toEqual({ n: 4999, kept: 10 });
    expect(await rows("SELECT id, body, tags, encode(bin, 'hex') AS bin, amount::text FROM app.bulk WHERE id IN (7, 5000) ORDER BY id")).toEqual([
      { id: "7", body: `row 7\t\\N \\ \n "q" é🎉`, tags: ["x\ty", null], bin: "075c", amount: "7.000000000000000000001" },
      { id: "5000", body: `row 5000\t\\N \\ \n "q" é🎉`, tags: [], bin: "885c", amount: "5000.000000000000000000001" },
    ]);

    // The same rows through VALUES (threshold above the batch) land identically.
    await db.query(`CREATE TABLE app.bulk_values (LIKE app.bulk INCLUDING ALL)`);
    const v = await open({ table: "{schema}.{table}_values", copyThreshold: 100_000 });
    await applyBatch(v, batch.map((r) => ({ ...r, seq: r.seq })), { seq: seqCounter, epoch: 1 });
    const diff = await rows(`(SELECT id, body, tags, bin, amount FROM app.bulk EXCEPT SELECT id, body, tags, bin, amount FROM app.bulk_values)
                              UNION ALL (SELECT id, body, tags, bin, amount FROM app.bulk_values EXCEPT SELECT id, body, tags, bin, amount FROM app.bulk)`);
    expect(diff).toEqual([]);
  });

  it("writes identity and skips generated columns", async () => {
    await db.query(`CREATE TABLE app.ident (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text, vv text GENERATED ALWAYS AS (v || v) STORED)`);
    const w = await open();
    await applyBatch(w, [ev("c", "ident", { key: { id: 42 }, after: { id: 42, v: "ab", vv: "ignored" } })], { seq: seqCounter, epoch: 1 });
    expect(await rows("SELECT * FROM app.ident")).toEqual([{ id: 42, v: "ab", vv: "abab" }]);
  });

  it("reports missing tables and columns, keyless tables and bad data as non-retryable, committing nothing", async () => {
    const w = await open();
    const sinkId = (w as unknown as { opts: PostgresSinkWriterOptions }).opts.sinkId;

    const missing = await failure(applyBatch(w, [ev("c", "nope", { key: { id: 1 }, after: { id: 1 } })], { seq: seqCounter, epoch: 1 }));
    expect(missing.message).toContain(sinkId);
    expect(missing.message).toContain('"app"."nope"');
    expect(missing.message).toContain("autoCreate: true");
    expect(missing.retryable).toBe(false);

    const column = await failure(applyBatch(w, [ev("u", "typed", { key: { id: 1 }, after: { id: 1, nonexistent: 1 } })], { seq: seqCounter, epoch: 1 }));
    expect(column.message).toMatch(/"app"\."typed".*"nonexistent"/);
    expect(column.retryable).toBe(false);

    await db.query("CREATE TABLE app.keyless (id int, v text)");
    const keyless = await failure(applyBatch(w, [ev("c", "keyless", { key: { id: 1 }, after: { id: 1, v: "a" } })], { seq: seqCounter, epoch: 1 }));
    expect(keyless.message).toMatch(/"app"\."keyless".*no primary key or unique index/);

    // A good change to one table and a bad value for another: nothing is committed.
    await db.query("CREATE TABLE app.strict (id int PRIMARY KEY, n numeric)");
    const bad = await failure(
      applyBatch(w, 
        [
          ev("u", "typed", { key: { id: 1 }, after: { id: 1, name: "must not land" } }),
          ev("c", "strict", { key: { id: 1 }, after: { id: 1, n: "not a number" } }),
        ],
        { seq: seqCounter, epoch: 1 },
      ),
    );
    expect(bad.retryable).toBe(false);
    expect(bad.sqlState).toBe("22P02");
    expect(bad.message).toContain('"app"."strict"');
    expect((await rows("SELECT name FROM app.typed WHERE id = 1"))[0]).toEqual({ name: TYPED_ROW.name });
    expect(await offsets(sinkId)).toBeUndefined();
    expect(await w.readOffset()).toEqual({ seq: 0, epoch: 0 });
  });

  it("re-reads a table changed under it, and reports a lost connection as retryable", async () => {
    await db.query("CREATE TABLE app.morph (id int PRIMARY KEY, v text)");
    const w = await open();
    await applyBatch(w, [ev("c", "morph", { key: { id: 1 }, after: { id: 1, v: "a" } })], { seq: seqCounter, epoch: 1 });
    await db.query("DROP TABLE app.morph; CREATE TABLE app.morph (id bigint PRIMARY KEY, w text, v text)");
    await applyBatch(w, [ev("c", "morph", { key: { id: 2 }, after: { id: 2, v: "b", w: "c" } })], { seq: seqCounter, epoch: 1 });
    expect(await rows("SELECT id, v, w FROM app.morph")).toEqual([{ id: "2", v: "b", w: "c" }]);
    // Cached columns renamed away / table dropped: the failing statement makes it re-read the
    // catalog once, and the verdict then names what is really missing.
    await db.query("ALTER TABLE app.morph RENAME COLUMN v TO v2");
    const renamed = await failure(applyBatch(w, [ev("u", "morph", { key: { id: 2 }, after: { id: 2, v: "x" } })], { seq: seqCounter, epoch: 1 }));
    expect(renamed.message).toContain('column(s) "v" missing');
    await db.query("DROP TABLE app.morph");
    const dropped = await failure(applyBatch(w, [ev("u", "morph", { key: { id: 2 }, after: { id: 2, w: "x" } })], { seq: seqCounter, epoch: 1 }));
    expect(dropped.message).toMatch(/"app"\."morph": table does not exist \(autoCreate: true would create it/);
    expect(dropped.retryable).toBe(false);

    const app = `tributary sink ${(w as unknown as { opts: PostgresSinkWriterOptions }).opts.sinkId}`;
    await db.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", [app]);
    await new Promise((r) => setTimeout(r, 100));
    const lost = await failure(applyBatch(w, [ev("c", "morph", { key: { id: 3 }, after: { id: 3 } })], { seq: seqCounter, epoch: 1 }));
    expect(lost.retryable).toBe(true);
    expect(lost.code).toBe("SINK_UNAVAILABLE");
  });

  it("fails to open a bad template or an unreachable database with the right verdict", async () => {
    const bad = await failure(open({ table: "a.b.c" }));
    expect(bad.retryable).toBe(false);
    const down = await failure(PostgresSinkWriter.open({ url: "postgres://postgres@127.0.0.1:1/x", table: "{table}", autoCreate: false, sinkId: "down", cluster: "t" }, log));
    expect(down.retryable).toBe(true);
    expect(down.message).toContain("down");
  });
});
