import { describe, it, expect } from "vitest";
import type { ChangeEvent, Op, Row } from "../events/index.js";
import { coalesceTable, compileTableTemplate, declaredKeyColumns, groupByTarget, type SinkRecord } from "./coalesce.js";

let seq = 0;
function rec(op: Op, opts: { key?: Row; before?: Row | null; after?: Row | null; schema?: string; table?: string }): SinkRecord {
  const event: ChangeEvent = {
    op,
    before: opts.before ?? null,
    after: opts.after ?? null,
    key: opts.key ?? {},
    source: {
      connector: "postgres", stream: "s", db: "db", schema: opts.schema ?? "public", table: opts.table ?? "t",
      pos: String(seq), txId: 1, ts_ms: 0, snapshot: false,
    },
    ts_ms: 0,
  };
  return { seq: ++seq, event };
}

describe("coalesceTable", () => {
  it("merges c then u, keeping a column the update left absent (unchanged TOAST)", () => {
    const plan = coalesceTable(
      [
        rec("c", { key: { id: 1 }, after: { id: 1, name: "a", doc: "big" } }),
        rec("u", { key: { id: 1 }, after: { id: 1, name: "b" } }),
      ],
      ["id"],
    );
    expect(plan).toEqual({ truncate: false, deletes: [], upserts: [{ id: 1, name: "b", doc: "big" }] });
  });

  it("does not invent columns absent from every image, and keeps null as null", () => {
    const plan = coalesceTable([rec("u", { key: { id: 1 }, after: { id: 1, note: null } })], ["id"]);
    expect(plan.upserts).toEqual([{ id: 1, note: null }]);
    expect(Object.keys(plan.upserts[0] ?? {})).toEqual(["id", "note"]);
  });

  it("an update with its description but no image (MongoDB's updateLookup after a delete) writes nothing; without a description it is refused", () => {
    const lookupMiss = rec("u", { key: { _id: 1 } });
    lookupMiss.event.update = { updated: { v: 2 }, removed: [] };
    expect(coalesceTable([lookupMiss, rec("d", { key: { _id: 1 } })], ["_id"])).toEqual({ truncate: false, deletes: [{ _id: 1 }], upserts: [] });
    expect(coalesceTable([rec("c", { key: { _id: 2 }, after: { _id: 2, v: 1 } }), lookupMiss], ["_id"]).upserts).toEqual([{ _id: 2, v: 1 }]);
    expect(() => coalesceTable([rec("u", { key: { _id: 1 } })], ["_id"])).toThrow(/has no after image/);
  });

  it("u then d deletes only", () => {
    const plan = coalesceTable(
      [rec("u", { key: { id: 1 }, after: { id: 1, v: 2 } }), rec("d", { key: { id: 1 }, before: { id: 1 } })],
      ["id"],
    );
    expect(plan).toEqual({ truncate: false, deletes: [{ id: 1 }], upserts: [] });
  });

  it("d then c deletes then inserts only the images after the delete", () => {
    const plan = coalesceTable(
      [
        rec("u", { key: { id: 1 }, after: { id: 1, a: "old", b: "old" } }),
        rec("d", { key: { id: 1 } }),
        rec("c", { key: { id: 1 }, after: { id: 1, a: "new" } }),
      ],
      ["id"],
    );
    expect(plan).toEqual({ truncate: false, deletes: [{ id: 1 }], upserts: [{ id: 1, a: "new" }] });
  });

  it("takes a delete's key from the before image when key is empty", () => {
    const plan = coalesceTable([rec("d", { before: { id: 7, x: 1 } })], ["id"]);
    expect(plan.deletes).toEqual([{ id: 7 }]);
  });

  it("drops everything before a truncate and applies what follows", () => {
    const plan = coalesceTable(
      [
        rec("c", { key: { id: 1 }, after: { id: 1 } }),
        rec("d", { key: { id: 2 } }),
        rec("t", {}),
        rec("c", { key: { id: 3 }, after: { id: 3, v: "x" } }),
      ],
      ["id"],
    );
    expect(plan).toEqual({ truncate: true, deletes: [], upserts: [{ id: 3, v: "x" }] });
  });

  it("a truncate alone needs no key columns", () => {
    expect(coalesceTable([rec("t", {})], [])).toEqual({ truncate: true, deletes: [], upserts: [] });
  });

  it("keeps per-key order with many keys interleaved, ordered by each key's last change", () => {
    const records: SinkRecord[] = [];
    for (let round = 0; round < 5; round++) {
      for (let k = 0; k < 50; k++) records.push(rec(round === 0 ? "c" : "u", { key: { id: k }, after: { id: k, round, [`c${round}`]: k } }));
    }
    records.push(rec("u", { key: { id: 10 }, after: { id: 10, round: 99 } }));
    const plan = coalesceTable(records, ["id"]);
    expect(plan.deletes).toEqual([]);
    expect(plan.upserts).toHaveLength(50);
    expect(plan.upserts[0]).toEqual({ id: 0, round: 4, c0: 0, c1: 0, c2: 0, c3: 0, c4: 0 });
    expect(plan.upserts[49]).toEqual({ id: 10, round: 99, c0: 10, c1: 10, c2: 10, c3: 10, c4: 10 });
  });

  it("distinguishes composite keys by every column, and a key change is delete + create", () => {
    const plan = coalesceTable(
      [
        rec("c", { key: { a: 1, b: "x" }, after: { a: 1, b: "x", v: 1 } }),
        rec("c", { key: { a: 1, b: "y" }, after: { a: 1, b: "y", v: 2 } }),
        rec("d", { key: { a: 1, b: "x" } }),
        rec("c", { key: { a: 2, b: "x" }, after: { a: 2, b: "x", v: 1 } }),
        rec("u", { key: { a: 1, b: "y" }, after: { a: 1, b: "y", v: 3 } }),
      ],
      ["a", "b"],
    );
    expect(plan.deletes).toEqual([{ a: 1, b: "x" }]);
    expect(plan.upserts).toEqual([
      { a: 2, b: "x", v: 1 },
      { a: 1, b: "y", v: 3 },
    ]);
  });

  it("rejects an upsert without an after image and a key it cannot find", () => {
    expect(() => coalesceTable([rec("u", { key: { id: 1 } })], ["id"])).toThrow(/no after image/);
    expect(() => coalesceTable([rec("d", { before: { x: 1 } })], ["id"])).toThrow(/key column "id"/);
  });
});

describe("table template and grouping", () => {
  it("resolves schema.table and table-only templates without splitting dotted names", () => {
    expect(compileTableTemplate("{schema}.{table}")({ schema: "my.schema", table: "a b" })).toEqual({ schema: "my.schema", table: "a b" });
    expect(compileTableTemplate("public.{table}_copy")({ schema: "s", table: "t" })).toEqual({ schema: "public", table: "t_copy" });
    expect(compileTableTemplate("{schema}_{table}")({ schema: "s", table: "t" })).toEqual({ schema: "public", table: "s_t" });
    expect(() => compileTableTemplate("a.b.c")).toThrow(/one '\.'/);
    expect(() => compileTableTemplate("{db}.{table}")).toThrow(/unknown placeholder \{db\}/);
  });

  it("groups by target in order of first appearance and reads declared key columns", () => {
    const records = [
      rec("t", { table: "b" }),
      rec("c", { table: "a", key: { id: 1 }, after: { id: 1 } }),
      rec("c", { table: "b", key: { k: 1, j: 2 }, after: { k: 1, j: 2 } }),
    ];
    const groups = [...groupByTarget(records, compileTableTemplate("x.{table}")).values()];
    expect(groups.map((g) => g.target.table)).toEqual(["b", "a"]);
    expect(declaredKeyColumns(groups[0]?.records ?? [])).toEqual(["k", "j"]);
    expect(declaredKeyColumns([rec("t", {})])).toBeUndefined();
  });
});
