/** The MongoDB sink's batch planning: one operation per key (last change wins), whole images vs partial ones, truncates, and the records it refuses. */
import { describe, expect, it } from "vitest";
import { Int32, Long } from "mongodb";
import type { SinkRecord } from "../../core/index.js";
import type { ChangeEvent, Row } from "../../events/index.js";
import { MongoRowError, planCollection } from "./sink-plan.js";

let seq = 0;
const rec = (op: ChangeEvent["op"], key: Row, after: Row | null, o: { types?: Record<string, string>; connector?: string; update?: ChangeEvent["update"] } = {}): SinkRecord => ({
  seq: ++seq,
  event: {
    op, key, after, before: null, ts_ms: 0,
    source: { connector: o.connector ?? "postgres", stream: "s", db: "d", schema: "d", table: "t", pos: "0", txId: null, ts_ms: 0, snapshot: false },
    ...(o.types ? { types: o.types } : {}),
    ...(o.update ? { update: o.update } : {}),
  },
});
const types = { id: "int8", a: "text", b: "text" };

describe("planCollection", () => {
  it("one replace per key in the order of each key's last change; a later whole image replaces an earlier one", () => {
    const plan = planCollection([
      rec("c", { id: 1 }, { id: 1, a: "x", b: "y" }, { types }),
      rec("c", { id: 2 }, { id: 2, a: "p", b: "q" }, { types }),
      rec("u", { id: 1 }, { id: 1, a: "x2", b: null }, { types }),
    ]);
    expect(plan.ops).toEqual([
      { replaceOne: { filter: { _id: Long.fromNumber(2) }, replacement: { _id: Long.fromNumber(2), id: Long.fromNumber(2), a: "p", b: "q" }, upsert: true } },
      { replaceOne: { filter: { _id: Long.fromNumber(1) }, replacement: { _id: Long.fromNumber(1), id: Long.fromNumber(1), a: "x2", b: null }, upsert: true } },
    ]);
    expect(plan.seqs).toEqual([[seq - 1], [seq - 2, seq]]);
  });

  it("an image lacking declared columns (unchanged TOAST) is a $set upsert, merged over the batch's earlier image when there is one", () => {
    expect(planCollection([rec("u", { id: 1 }, { id: 1, a: "x" }, { types })]).ops).toEqual([
      { updateOne: { filter: { _id: Long.fromNumber(1) }, update: { $set: { id: Long.fromNumber(1), a: "x" } }, upsert: true } },
    ]);
    const merged = planCollection([rec("c", { id: 1 }, { id: 1, a: "x", b: "y" }, { types }), rec("u", { id: 1 }, { id: 1, a: "z" }, { types })]);
    expect(merged.ops).toEqual([{ replaceOne: { filter: { _id: Long.fromNumber(1) }, replacement: { _id: Long.fromNumber(1), id: Long.fromNumber(1), a: "z", b: "y" }, upsert: true } }]);
  });

  it("deletes; a delete then a whole image is just the replace, a delete then a partial image deletes first", () => {
    expect(planCollection([rec("c", { id: 1 }, { id: 1, a: "x", b: "y" }, { types }), rec("d", { id: 1 }, null)]).ops).toEqual([{ deleteOne: { filter: { _id: Long.fromNumber(1) } } }]);
    expect(planCollection([rec("d", { id: 1 }, null), rec("c", { id: 1 }, { id: 1, a: "n", b: "n" }, { types })]).ops.map((o) => Object.keys(o)[0])).toEqual(["replaceOne"]);
    expect(planCollection([rec("d", { id: 1 }, null), rec("u", { id: 1 }, { id: 1, a: "n" }, { types })]).ops.map((o) => Object.keys(o)[0])).toEqual(["deleteOne", "updateOne"]);
  });

  it("a truncate empties the collection first and drops the changes before it", () => {
    const plan = planCollection([rec("c", { id: 1 }, { id: 1, a: "x", b: "y" }, { types }), rec("t", {}, null), rec("c", { id: 2 }, { id: 2, a: "x", b: "y" }, { types })]);
    expect(plan.ops.map((o) => Object.keys(o)[0])).toEqual(["deleteMany", "replaceOne"]);
    expect(plan.ops[0]).toEqual({ deleteMany: { filter: {} } });
  });

  it("_id: the key's _id (filter: the whole key, shard key included), else its only column, else an embedded document of the key", () => {
    const shard = planCollection([rec("u", { _id: 5, region: "eu" }, { _id: 5, region: "eu", v: 1 }, { connector: "mongodb", types: { _id: "int", region: "string", v: "int" } })]);
    expect(shard.ops).toEqual([{ replaceOne: { filter: { _id: new Int32(5), region: "eu" }, replacement: { _id: new Int32(5), region: "eu", v: new Int32(1) }, upsert: true } }]);
    const composite = planCollection([rec("c", { k1: "a", k2: 2 }, { k1: "a", k2: 2, v: "x" }, { types: { k1: "text", k2: "int4", v: "text" } })]);
    expect(composite.ops).toEqual([{ replaceOne: { filter: { _id: { k1: "a", k2: new Int32(2) } }, replacement: { _id: { k1: "a", k2: new Int32(2) }, k1: "a", k2: new Int32(2), v: "x" }, upsert: true } }]);
  });

  it("an update without its image but with its description (updateLookup after a delete) writes nothing; without a description it is refused", () => {
    const miss = rec("u", { _id: 1 }, null, { connector: "mongodb", update: { updated: { v: 2 }, removed: [] } });
    expect(planCollection([miss]).ops).toEqual([]);
    expect(planCollection([rec("c", { _id: 1 }, { _id: 1, v: 1 }, { connector: "mongodb" }), miss]).ops).toEqual([
      { replaceOne: { filter: { _id: new Int32(1) }, replacement: { _id: new Int32(1), v: new Int32(1) }, upsert: true } },
    ]);
    const bare = rec("u", { id: 1 }, null);
    expect(() => planCollection([bare])).toThrow(`event seq ${bare.seq} (op 'u') has no after image`);
  });

  it("refuses what MongoDB cannot take, naming the records", () => {
    const noKey = rec("c", {}, { a: 1 });
    expect(() => planCollection([noKey])).toThrow(`event seq ${noKey.seq} (op 'c') has no key to find its document by`);
    const arrayId = rec("c", { _id: [1, 2] }, { _id: [1, 2] }, { connector: "mongodb", types: { _id: "array" } });
    expect(() => planCollection([arrayId])).toThrow(`event seq ${arrayId.seq}: its key would make an array _id, which MongoDB does not allow`);
    const nul = rec("c", { id: 1 }, { id: 1, "a\u0000b": 1 });
    expect(() => planCollection([nul])).toThrow(/field name "a\\u0000b" holds a NUL character, which BSON cannot store/);
    try {
      planCollection([rec("c", { id: 1 }, { id: 1, $x: 1 })]);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(MongoRowError);
      expect((err as MongoRowError).seqs).toEqual([seq]);
    }
  });
});
