/** Event positions sort in publication order across phases and epochs; stored positions are checked; the snapshot's resume filter crosses _id types. */
import { describe, expect, it } from "vitest";
import { ObjectId } from "mongodb";
import { decodePosition, epochOf, genOf, genPos, snapshotPos, tokenPos } from "./position.js";
import { afterIdFilter } from "./snapshot.js";

describe("MongoDB positions", () => {
  it("snapshot reads < later attempts < changes (hex tokens in oplog order) < the next epoch", () => {
    const order = [
      snapshotPos(1, 1, 0),
      snapshotPos(1, 1, 999),
      snapshotPos(1, 2, 0),
      tokenPos(1, "8200000001000000010004"),
      tokenPos(1, "82000000010000000100040A"), // a longer KeyString with the same prefix sorts after
      tokenPos(1, "8200000002000000010004"),
      snapshotPos(2, 1, 0),
      tokenPos(2, "8200000000000000000004"),
    ];
    expect([...order].sort()).toEqual(order);
    expect(order.map(epochOf)).toEqual([1, 1, 1, 1, 1, 1, 2, 2]);
    expect([epochOf(null), epochOf("0000000016B3748:t:0000000003")]).toEqual([0, 0]);
    expect([genPos(3, 2, 5) > genPos(3, 1, 99), genOf(genPos(3, 2, 5)), genOf(tokenPos(3, "82"))]).toEqual([true, 2, 0]);
  });

  it("decodePosition: null for none, the stored shape back, an error for anything else", () => {
    expect(decodePosition(null)).toBeNull();
    const p = { v: 1, epoch: 2, resume: { token: { _data: "82" } }, snapshot: { attempt: 1, collections: ["a.b"], index: 0, lastId: null } };
    expect(decodePosition(p)).toEqual(p);
    expect(decodePosition({ v: 1, epoch: 1, resume: { at: { t: 1, i: 2 } } })).toEqual({ v: 1, epoch: 1, resume: { at: { t: 1, i: 2 } } });
    expect(() => decodePosition({ lsn: "0/16B3748", snapshotDone: true })).toThrow(/not a MongoDB source position/);
    expect(() => decodePosition({ v: 1, epoch: 1, resume: { token: {} }, snapshot: { attempt: "x" } })).toThrow(/snapshot progress .* malformed/);
  });

  it("the snapshot resumes after an _id and takes every _id of a type sorting after it", () => {
    expect(afterIdFilter(5)).toEqual({ $or: [{ _id: { $gt: 5 } }, { _id: { $type: ["string", "symbol", "object", "binData", "objectId", "bool", "date", "timestamp", "regex", "javascript", "javascriptWithScope", "maxKey"] } }] });
    const oid = new ObjectId();
    expect(afterIdFilter(oid)).toEqual({ $or: [{ _id: { $gt: oid } }, { _id: { $type: ["bool", "date", "timestamp", "regex", "javascript", "javascriptWithScope", "maxKey"] } }] });
    expect(afterIdFilter("k")).toMatchObject({ $or: [{ _id: { $gt: "k" } }, { _id: { $type: expect.arrayContaining(["object", "objectId", "date"]) } }] });
  });
});
