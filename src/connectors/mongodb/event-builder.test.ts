/** Change stream documents → events: ops, before/after/key, the update description, txId, time, and the events that end a stream. */
import { describe, expect, it } from "vitest";
import { Binary, Int32, Long, Timestamp } from "mongodb";
import { changeEvent, endingOf, opOf, snapshotEvent, txIdOf } from "./event-builder.js";

const ctx = { stream: "s1", now: 1_700_000_000_123 };
const base = { _id: { _data: "82AA" }, clusterTime: new Timestamp({ t: 1_700_000_000, i: 3 }), ns: { db: "shop", coll: "orders" }, documentKey: { _id: new Int32(7) } };

describe("MongoDB event builder", () => {
  it("ops: insert c, update/replace u, delete d; compat cosmos (no operationType) u; others none", () => {
    expect(["insert", "update", "replace", "delete", "drop", "invalidate"].map((t) => opOf({ operationType: t }, false))).toEqual(["c", "u", "u", "d", undefined, undefined]);
    expect(opOf({}, true)).toBe("u");
    expect(opOf({}, false)).toBeUndefined();
  });

  it("an update with its description, a pre-image as before, types from key, pre- and post-image", () => {
    const e = changeEvent(ctx, {
      ...base, operationType: "update",
      fullDocument: { _id: new Int32(7), n: Long.fromString("9007199254740993"), tags: ["a"] },
      fullDocumentBeforeChange: { _id: new Int32(7), n: new Int32(1), old: true },
      updateDescription: { updatedFields: { n: Long.fromString("9007199254740993"), "a.b": new Int32(2) }, removedFields: ["old"], truncatedArrays: [{ field: "tags", newSize: new Int32(1) }] },
    }, "u", "p1");
    expect(e).toEqual({
      op: "u",
      before: { _id: 7, n: 1, old: true },
      after: { _id: 7, n: "9007199254740993", tags: ["a"] },
      key: { _id: 7 },
      source: { connector: "mongodb", stream: "s1", db: "shop", schema: "shop", table: "orders", pos: "p1", txId: null, ts_ms: 1_700_000_000_000, snapshot: false, operationType: "update" },
      ts_ms: ctx.now,
      types: { _id: "int", n: "long", old: "bool", tags: "array" },
      update: { updated: { n: "9007199254740993", "a.b": 2 }, removed: ["old"], truncated: [{ field: "tags", newSize: 1 }] },
    });
  });

  it("without images: before is the key for u and d, null for c; an update whose post-image is gone has after null", () => {
    expect(changeEvent(ctx, { ...base, operationType: "delete" }, "d", "p").before).toEqual({ _id: 7 });
    expect(changeEvent(ctx, { ...base, operationType: "delete" }, "d", "p").after).toBeNull();
    expect(changeEvent(ctx, { ...base, operationType: "delete" }, "d", "p").types).toEqual({ _id: "int" });
    const u = changeEvent(ctx, { ...base, operationType: "update", fullDocument: null, updateDescription: { updatedFields: {}, removedFields: ["x"] } }, "u", "p");
    expect([u.before, u.after, u.update]).toEqual([{ _id: 7 }, null, { updated: {}, removed: ["x"] }]);
    expect(changeEvent(ctx, { ...base, operationType: "insert", fullDocument: { _id: new Int32(7) } }, "c", "p").before).toBeNull();
    // compat cosmos: the change may be an insert, so no key-only before
    const { operationType: _none, ...cosmos } = { ...base, operationType: undefined, fullDocument: { _id: new Int32(7), a: "x" } };
    expect(changeEvent(ctx, cosmos, "u", "p")).toMatchObject({ op: "u", before: null, after: { _id: 7, a: "x" }, key: { _id: 7 } });
  });

  it("a change of a transaction carries lsid and txnNumber as txId; the time falls back to wallTime", () => {
    const lsid = { id: new Binary(Buffer.alloc(16, 0xab), 4) };
    expect(txIdOf({ lsid, txnNumber: Long.fromNumber(3) })).toBe(`${"ab".repeat(16)}:3`);
    expect(txIdOf({})).toBeNull();
    const e = changeEvent(ctx, { ...base, clusterTime: undefined, wallTime: new Date(1_600_000_000_456), operationType: "delete", lsid, txnNumber: Long.fromNumber(9) }, "d", "p");
    expect([e.source.ts_ms, e.source.txId]).toEqual([1_600_000_000_456, `${"ab".repeat(16)}:9`]);
  });

  it("a snapshot read is op r with the key, snapshot true", () => {
    expect(snapshotEvent(ctx, "shop", "orders", { _id: "k", v: new Int32(1) }, "sp", 5)).toEqual({
      op: "r", before: null, after: { _id: "k", v: 1 }, key: { _id: "k" }, ts_ms: ctx.now, types: { _id: "string", v: "int" },
      source: { connector: "mongodb", stream: "s1", db: "shop", schema: "shop", table: "orders", pos: "sp", txId: null, ts_ms: 5, snapshot: true },
    });
  });

  it("drop, rename, dropDatabase and invalidate end the stream, in words", () => {
    expect(endingOf({ operationType: "invalidate" })).toBe("the change stream was invalidated (its collection or database was dropped or renamed)");
    expect(endingOf({ operationType: "drop", ns: { db: "shop", coll: "orders" } })).toBe("collection shop.orders was dropped");
    expect(endingOf({ operationType: "rename", ns: { db: "shop", coll: "a" }, to: { db: "shop", coll: "b" } })).toBe("collection shop.a was renamed to shop.b");
    expect(endingOf({ operationType: "dropDatabase", ns: { db: "shop" } })).toBe("database shop was dropped");
    expect(endingOf({ operationType: "insert" })).toBeUndefined();
  });
});
