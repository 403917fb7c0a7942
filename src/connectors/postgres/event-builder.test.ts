import { describe, it, expect } from "vitest";
import { encodeEvent, keyOf, keysDiffer, makeEvent, shapeOf, toRow } from "./event-builder.js";

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

  it("encodes exactly what JSON.stringify of the envelope gives, for every op and odd names", () => {
    const odd = shapeOf('we"ird', "ta\\ble\n", [{ name: 'i"d', type: { oid: 20, name: "int8" } }, { name: "ü", type: { oid: 25, name: "text" } }], ['i"d']);
    const row = toRow(odd, { 'i"d': "9007199254740993", ü: 'quote " and \\ and \u2028 and 🚀' })!;
    const cases: Array<[typeof shape, "c" | "u" | "d" | "r" | "t", ReturnType<typeof toRow>, ReturnType<typeof toRow>, number | string | null, boolean]> = [
      [shape, "c", null, toRow(shape, { id: "7", balance: "1.00", note: "x", tags: "{a,NULL}", gone: null }), 42, false],
      [shape, "u", toRow(shape, { id: "7", balance: "2.00", note: undefined, tags: "{}", gone: null }), toRow(shape, { id: "7", balance: "3.00", note: "y", tags: "{}", gone: null }), "x1", false],
      [shape, "d", toRow(shape, { id: "8", balance: null, note: null, tags: null, gone: null }), null, 1, false],
      [shape, "r", null, toRow(shape, { id: "9", balance: "0", note: "", tags: "{}", gone: null }), null, true],
      [shape, "t", null, null, 5, false],
      [odd, "c", null, row, 3, false],
    ];
    for (const [s, op, before, after, txId, snapshot] of cases) {
      const key = op === "t" ? {} : keyOf(s, after ?? before);
      const meta = { stream: 'sh"op', db: "sales\\x", pos: "00000000016B3748:t:0000000003", txId, tsMs: 1_700_000_000_123, snapshot };
      const { json, keyJson } = encodeEvent(s, op, before, after, key, meta);
      const parsed = JSON.parse(json) as { ts_ms: number };
      const expected = makeEvent(s, op, before, after, key, meta);
      expected.ts_ms = parsed.ts_ms;
      expect(json).toBe(JSON.stringify(expected));
      expect(keyJson).toBe(JSON.stringify(key));
    }
  });

  it("detects primary-key changes", () => {
    expect(keysDiffer({ id: 1 }, { id: 1 })).toBe(false);
    expect(keysDiffer({ id: 1 }, { id: 2 })).toBe(true);
    expect(keysDiffer({ a: "x", b: 1 }, { a: "x", b: 1 })).toBe(false);
  });
});
