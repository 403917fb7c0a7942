import { describe, it, expect } from "vitest";
import { keyOf, keysDiffer, makeEvent, shapeOf, toRow } from "./event-builder.js";

const shape = shapeOf(
  "public",
  "accounts",
  [
    { name: "id", type: { oid: 20, name: "int8" } },
    { name: "balance", type: { oid: 1700, name: "numeric" } },
    { name: "note", type: { oid: 25, name: "text" } },
    { name: "tags", type: { oid: 1009, name: "_text", category: "A", elemName: "text" } },
    { name: "gone", type: { oid: 25, name: "text" } },
  ],
  ["id"],
);

describe("change event envelope", () => {
  it("maps a pgoutput tuple to a row: NULL stays null, unchanged TOAST becomes an absent key", () => {
    const row = toRow(shape, { id: "9007199254740993", balance: "12.3400", note: undefined, tags: '{a,"b c",NULL}', gone: null });
    expect(row).toEqual({ id: "9007199254740993", balance: "12.3400", tags: ["a", "b c", null], gone: null });
    expect("note" in row!).toBe(false);
  });

  it("builds a Debezium-compatible envelope with key, source and column types", () => {
    const after = toRow(shape, { id: "7", balance: "1.00", note: "x", tags: "{}", gone: null });
    const ev = makeEvent(shape, "u", null, after, keyOf(shape, after), { stream: "shop", db: "sales", pos: "P", txId: 42, tsMs: 1_700_000_000_000, snapshot: false });
    expect(ev).toMatchObject({
      op: "u",
      before: null,
      after: { id: 7, balance: "1.00", note: "x", tags: [] },
      key: { id: 7 },
      source: { connector: "postgres", stream: "shop", db: "sales", schema: "public", table: "accounts", pos: "P", txId: 42, ts_ms: 1_700_000_000_000, snapshot: false },
      types: { id: "int8", balance: "numeric", note: "text", tags: "_text", gone: "text" },
    });
    expect(typeof ev.ts_ms).toBe("number");
    // the envelope is plain JSON: it survives a round trip unchanged
    expect(JSON.parse(JSON.stringify(ev))).toEqual(ev);
  });

  it("detects primary-key changes", () => {
    expect(keysDiffer({ id: 1 }, { id: 1 })).toBe(false);
    expect(keysDiffer({ id: 1 }, { id: 2 })).toBe(true);
    expect(keysDiffer({ a: "x", b: 1 }, { a: "x", b: 1 })).toBe(false);
  });
});
