/** MySQL positions: fixed-width event positions whose string order is binlog order, and stable server ids. */
import { describe, expect, it } from "vitest";
import { SERVER_ID_MAX, SERVER_ID_MIN, binlogFileIndex, compareBinlogPos, defaultServerId, encodeEventPos, snapshotIndex } from "./position.js";

describe("event positions", () => {
  it("are fixed width", () => {
    expect(encodeEventPos("mariadb-bin.000003", 4316, "t", 2)).toBe("0000000003:000000004316:t:00000000000002");
    expect(encodeEventPos("binlog.000001", 4, "s", snapshotIndex(999, 99_999_999_999))).toHaveLength(40);
  });

  it("sort as strings in binlog order: file, then offset, snapshot before transactions, then row", () => {
    const ordered = [
      encodeEventPos("mariadb-bin.000009", 99_999, "t", 5),
      encodeEventPos("mariadb-bin.000010", 330, "s", snapshotIndex(1, 0)),
      encodeEventPos("mariadb-bin.000010", 330, "s", snapshotIndex(1, 1_000_000)),
      encodeEventPos("mariadb-bin.000010", 330, "s", snapshotIndex(2, 0)), // a later attempt sorts after every row of an earlier one
      encodeEventPos("mariadb-bin.000010", 330, "s", snapshotIndex(999, 99_999_999_999)),
      encodeEventPos("mariadb-bin.000010", 330, "t", 0),
      encodeEventPos("mariadb-bin.000010", 372, "t", 0),
      encodeEventPos("mariadb-bin.000010", 4_294_967_295, "t", 0),
      encodeEventPos("mariadb-bin.000011", 4, "t", 0),
      encodeEventPos("mariadb-bin.1000000", 4, "t", 0),
    ];
    expect([...ordered].reverse().sort()).toEqual(ordered);
  });

  it("refuses snapshot indexes it cannot order", () => {
    expect(() => snapshotIndex(0, 0)).toThrow(RangeError);
    expect(() => snapshotIndex(1000, 0)).toThrow(/attempt 1000/);
    expect(() => snapshotIndex(1, 100_000_000_000)).toThrow(/more than/);
  });

  it("reads the file index and compares coordinates", () => {
    expect(binlogFileIndex("mysql-bin.000042")).toBe(42);
    expect(() => binlogFileIndex("nolog")).toThrow(/no numeric extension/);
    expect(compareBinlogPos({ file: "b.000002", pos: 4 }, { file: "b.000001", pos: 9999 })).toBe(1);
    expect(compareBinlogPos({ file: "b.000002", pos: 4 }, { file: "b.000002", pos: 4 })).toBe(0);
    expect(compareBinlogPos({ file: "b.000002", pos: 4 }, { file: "b.000002", pos: 5 })).toBe(-1);
  });
});

describe("defaultServerId", () => {
  it("is stable, in the safe range, and differs between streams and clusters", () => {
    const a = defaultServerId("tributary", "orders");
    expect(defaultServerId("tributary", "orders")).toBe(a);
    expect(a).toBeGreaterThanOrEqual(SERVER_ID_MIN);
    expect(a).toBeLessThanOrEqual(SERVER_ID_MAX);
    expect(defaultServerId("tributary", "orders2")).not.toBe(a);
    expect(defaultServerId("other", "orders")).not.toBe(a);
    const ids = new Set(Array.from({ length: 1000 }, (_, i) => defaultServerId("c", `s${i}`)));
    expect(ids.size).toBe(1000);
  });
});
