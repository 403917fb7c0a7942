// The sink contract's two pure pieces: the epoch rule and the grouping of a batch.
import { describe, expect, it } from "vitest";
import { TributaryError } from "../base/index.js";
import type { ChangeEvent } from "../events/index.js";
import { compileTableTemplate, type SinkRecord } from "./coalesce.js";
import { checkOffset, sinkBatch } from "./sink.js";

const rec = (seq: number, table: string, id: number, op: ChangeEvent["op"] = "u"): SinkRecord => ({
  seq,
  event: {
    op,
    before: null,
    after: op === "d" ? null : { id, v: seq },
    key: { id },
    source: { connector: "t", stream: "s", db: "d", schema: "app", table, pos: String(seq), txId: null, ts_ms: 0, snapshot: false },
    ts_ms: 0,
  },
});

describe("checkOffset", () => {
  it("refuses an older epoch (FENCED), and otherwise returns what to store", () => {
    expect(() => checkOffset({ seq: 10, epoch: 5 }, { seq: 11, epoch: 4 })).toThrow(TributaryError);
    try {
      checkOffset({ seq: 10, epoch: 5 }, { seq: 11, epoch: 4 });
    } catch (e) {
      expect((e as TributaryError).code).toBe("FENCED");
    }
    expect(checkOffset({ seq: 10, epoch: 5 }, { seq: 12, epoch: 5 })).toEqual({ seq: 12, epoch: 5 });
    expect(checkOffset({ seq: 10, epoch: 5 }, { seq: 8, epoch: 6 })).toEqual({ seq: 10, epoch: 6 }); // a replay under a newer epoch
    expect(checkOffset({ seq: 10, epoch: 5 }, { seq: 9, epoch: 5 })).toBeNull(); // nothing new to store
  });

  it("builds the refusal with the connector's own error", () => {
    class Mine extends Error {}
    expect(() => checkOffset({ seq: 1, epoch: 2 }, { seq: 2, epoch: 1 }, (m) => new Mine(m))).toThrow(Mine);
  });
});

describe("sinkBatch", () => {
  const target = compileTableTemplate("out.{table}");
  const batch = sinkBatch([rec(1, "a", 1), rec(2, "b", 1), rec(3, "a", 1), rec(4, "a", 2, "d")], target);

  it("groups records by target in order of first appearance, skipping those at or below a stored seq", () => {
    expect(batch.groups().map((g) => [g.target.table, g.records.map((r) => r.seq)])).toEqual([
      ["a", [1, 3, 4]],
      ["b", [2]],
    ]);
    expect(batch.groups(2).map((g) => [g.target.table, g.records.map((r) => r.seq)])).toEqual([["a", [3, 4]]]);
    expect(batch.groups(4)).toEqual([]);
  });

  it("plans each group per key with the declared key", () => {
    const a = batch.groups()[0]!;
    expect(a.declaredKey).toEqual(["id"]);
    const plan = a.plan(["id"]);
    expect(plan.upserts).toEqual([{ id: 1, v: 3 }]);
    expect(plan.deletes).toEqual([{ id: 2 }]);
    expect(a.plan(["id"])).toBe(plan); // computed once per key
  });
});
