/** The change stream's scope and pipeline per spec, its options at a resume point, and the driver's errors translated. */
import { describe, expect, it } from "vitest";
import { Int32, MongoNetworkError, MongoServerError, Timestamp } from "mongodb";
import { COSMOS_STAGES, isResumable, mongoError, watchOptions, watchPlan } from "./change-stream.js";
import { mongoSourceSchema } from "./schema-source.js";

const spec = (extra: Record<string, unknown> = {}) => mongoSourceSchema.parse({ type: "mongodb", url: "mongodb://u:secret@h:27017/?replicaSet=rs0", collections: ["shop.orders"], ...extra });
/** A server error as the driver builds it from a reply read with promoteValues: false (its code an Int32). */
const serverError = (code: number, errmsg = "boom", labels: string[] = []) => new MongoServerError({ ok: 0, errmsg, code: new Int32(code), errorLabels: labels } as never);

describe("watchPlan", () => {
  it("the narrowest scope: a collection, a database (with a $match on the collections), the cluster", () => {
    expect(watchPlan(spec())).toEqual({ scope: { kind: "collection", db: "shop", coll: "orders" }, pipeline: [] });
    expect(watchPlan(spec({ collections: ["shop.*"] }))).toEqual({ scope: { kind: "database", db: "shop" }, pipeline: [] });
    expect(watchPlan(spec({ collections: ["shop.b", "shop.a"] }))).toEqual({
      scope: { kind: "database", db: "shop" },
      pipeline: [{ $match: { $or: [{ "ns.coll": { $in: ["a", "b"] } }, { "ns.coll": { $exists: false } }] } }],
    });
    expect(watchPlan(spec({ collections: ["a.x", "b.*"] }))).toEqual({
      scope: { kind: "cluster" },
      pipeline: [{ $match: { $or: [{ "ns.db": "a", "ns.coll": { $in: ["x"] } }, { "ns.db": "b" }, { "ns.db": { $in: ["a", "b"] }, "ns.coll": { $exists: false } }, { operationType: "invalidate" }] } }],
    });
  });

  it("compat cosmos: exactly the stages Cosmos DB for MongoDB accepts, the collections inside the same $match", () => {
    expect(watchPlan(spec({ compat: "cosmos" }))).toEqual({ scope: { kind: "collection", db: "shop", coll: "orders" }, pipeline: COSMOS_STAGES });
    expect(watchPlan(spec({ compat: "cosmos", collections: ["shop.a", "shop.b"] })).pipeline).toEqual([
      { $match: { operationType: { $in: ["insert", "update", "replace"] }, "ns.coll": { $in: ["a", "b"] } } },
      { $project: { _id: 1, fullDocument: 1, ns: 1, documentKey: 1 } },
    ]);
  });
});

describe("watchOptions", () => {
  it("resumes after a token, or starts at an operation time; pre-images only when asked", () => {
    expect(watchOptions(spec(), { token: { _data: "82AB" } })).toEqual({
      promoteValues: false, promoteLongs: false, promoteBuffers: false, bsonRegExp: true, // documents exactly as stored
      fullDocument: "updateLookup", maxAwaitTimeMS: 1000, batchSize: 1000, resumeAfter: { _data: "82AB" },
    });
    const at = watchOptions(spec({ preImages: "required", fullDocument: "whenAvailable" }), { at: { t: 1700000000, i: 7 } });
    expect(at).toMatchObject({ fullDocument: "whenAvailable", fullDocumentBeforeChange: "required" });
    expect(at.startAtOperationTime).toEqual(new Timestamp({ t: 1700000000, i: 7 }));
    expect(at.resumeAfter).toBeUndefined();
  });
});

describe("errors", () => {
  it("resumable: network errors, the label, CursorNotFound even as an Int32 code; not: others", () => {
    expect(isResumable(new MongoNetworkError("socket closed"))).toBe(true);
    expect(isResumable(serverError(43))).toBe(true);
    expect(isResumable(serverError(234, "retry", ["ResumableChangeStreamError"]))).toBe(true);
    expect(isResumable(serverError(6))).toBe(false);
    expect(isResumable(serverError(286))).toBe(false);
  });

  it("history lost names the stream and the way out, without the password; others by retryability", () => {
    const lost = mongoError(serverError(286, "Resume of change stream was not possible"), spec(), "orders", "reading the change stream");
    expect(lost).toMatchObject({ code: "SOURCE_INVALID", retryable: false });
    expect(lost.message).toBe("MongoDB source mongodb://u:***@h:27017/?replicaSet=rs0 of stream orders: reading the change stream: the resume point is no longer in the oplog (ChangeStreamHistoryLost, 286): changes since the last checkpoint are gone. Re-snapshot the stream (POST /v1/streams/orders/snapshot) to start over, and keep the oplog window longer than the longest stop (docs/operations.md)");
    expect(mongoError(serverError(13, "not authorized"), spec(), "orders", "x")).toMatchObject({ code: "SOURCE_INVALID", message: expect.stringMatching(/not authorized \(code 13\)$/) });
    expect(mongoError(serverError(40573, "only supported on replica sets"), spec(), "orders", "x").code).toBe("SOURCE_INVALID");
    expect(mongoError(serverError(91, "shutting down"), spec(), "orders", "x")).toMatchObject({ code: "SOURCE_UNAVAILABLE", retryable: true });
    expect(mongoError(new MongoNetworkError("connect ECONNREFUSED"), spec(), "orders", "connecting").code).toBe("SOURCE_UNAVAILABLE");
  });
});
