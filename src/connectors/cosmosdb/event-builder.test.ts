/** Change feed items → change events: ops per mode, system properties in `source`, the key from id and partition key. */
import { describe, expect, it } from "vitest";
import { allVersionsEvent, keyOf, latestVersionEvent, pkColumn, valueAt, type ContainerShape } from "./event-builder.js";

const shape: ContainerShape = { stream: "s1", database: "shop", container: "orders", pkPaths: ["/pk"] };
const system = { _rid: "rid1", _self: "dbs/a/colls/b/docs/rid1/", _etag: '"e1"', _attachments: "attachments/", _ts: 1_700_000_000 };

describe("latestVersion", () => {
  it("is op u with the user's properties in after, the system properties in source and key = id + partition key", () => {
    const doc = { id: "o1", pk: "eu", total: 12.5, tags: ["a", null], nested: { deep: [1, { x: true }] }, nothing: null, ...system, _lsn: 42 };
    const e = latestVersionEvent(shape, doc, "0000000001:000000000001", 1_800_000_000_000);
    expect(e).toEqual({
      op: "u",
      before: null,
      after: { id: "o1", pk: "eu", total: 12.5, tags: ["a", null], nested: { deep: [1, { x: true }] }, nothing: null },
      key: { id: "o1", pk: "eu" },
      source: {
        connector: "cosmosdb", stream: "s1", db: "shop", schema: "shop", table: "orders", pos: "0000000001:000000000001",
        txId: null, ts_ms: 1_700_000_000_000, snapshot: false, ...system, _lsn: 42,
      },
      ts_ms: 1_800_000_000_000,
    });
    expect(e.types).toBeUndefined();
  });

  it("a document without its partition key property has null in the key", () => {
    expect(latestVersionEvent(shape, { id: "x", _lsn: 1 }, "p").key).toEqual({ id: "x", pk: null });
  });
});

describe("allVersionsAndDeletes", () => {
  const meta = { lsn: 9, crts: 1_700_000_100, timeToLiveExpired: false };

  it("create → c without before", () => {
    const e = allVersionsEvent(shape, { current: { id: "o1", pk: "eu", v: 1, ...system, _lsn: 9 }, metadata: { operationType: "create", ...meta } }, "p");
    expect([e.op, e.before, e.after, e.key]).toEqual(["c", null, { id: "o1", pk: "eu", v: 1 }, { id: "o1", pk: "eu" }]);
    expect(e.source).toMatchObject({ operationType: "create", _lsn: 9, crts: 1_700_000_100, ts_ms: 1_700_000_100_000, _rid: "rid1", _etag: '"e1"' });
    expect(e.source.timeToLiveExpired).toBeUndefined();
  });

  it("replace → u with the previous image as before", () => {
    const e = allVersionsEvent(shape, {
      current: { id: "o1", pk: "eu", v: 2, ...system, _etag: '"e2"' },
      previous: { id: "o1", pk: "eu", v: 1, ...system },
      metadata: { operationType: "replace", previousImageLSN: 8, ...meta },
    }, "p");
    expect([e.op, e.before, e.after]).toEqual(["u", { id: "o1", pk: "eu", v: 1 }, { id: "o1", pk: "eu", v: 2 }]);
    expect(e.source).toMatchObject({ operationType: "replace", previousImageLSN: 8, _etag: '"e2"' });
  });

  it("delete → d, keyed from the metadata when there is no image; a TTL expiry says so in source", () => {
    const e = allVersionsEvent(shape, { current: null, metadata: { operationType: "delete", id: "o1", partitionKey: { pk: "eu" }, ...meta, timeToLiveExpired: true } }, "p");
    expect([e.op, e.before, e.after, e.key]).toEqual(["d", null, null, { id: "o1", pk: "eu" }]);
    expect(e.source).toMatchObject({ operationType: "delete", timeToLiveExpired: true, _lsn: 9 });
    const withImage = allVersionsEvent(shape, { current: null, previous: { id: "o2", pk: "us", v: 3, ...system }, metadata: { operationType: "delete", id: "o2", partitionKey: { pk: "us" }, ...meta } }, "p");
    expect([withImage.before, withImage.key]).toEqual([{ id: "o2", pk: "us", v: 3 }, { id: "o2", pk: "us" }]);
    expect(withImage.source._rid).toBe("rid1");
  });

  it("an unknown operation type stops instead of guessing", () => {
    expect(() => allVersionsEvent(shape, { current: {}, metadata: { operationType: "merge" } }, "p")).toThrow(/unknown change feed operationType "merge" in container shop\/orders/);
  });
});

describe("keys and partition key paths", () => {
  it("one column per path: /pk → pk, /a/b → a.b, hierarchical keys in order; /id adds nothing", () => {
    expect(pkColumn("/pk")).toBe("pk");
    expect(pkColumn("/address/city")).toBe("address.city");
    expect(pkColumn('/"odd name"')).toBe("odd name");
    const doc = { id: "1", tenant: "t", address: { city: "Oslo" } };
    expect(keyOf({ ...shape, pkPaths: ["/tenant", "/address/city"] }, doc.id, doc)).toEqual({ id: "1", tenant: "t", "address.city": "Oslo" });
    expect(keyOf({ ...shape, pkPaths: ["/id"] }, doc.id, doc)).toEqual({ id: "1" });
  });

  it("values only at scalar positions; later sources fill what earlier lack", () => {
    expect(valueAt({ a: { b: 3 } }, "/a/b")).toBe(3);
    expect(valueAt({ a: [1] }, "/a/0")).toBeUndefined();
    expect(valueAt({ a: { b: { c: 1 } } }, "/a/b")).toBeUndefined();
    expect(valueAt({ a: null }, "/a")).toBeNull();
    expect(keyOf(shape, "x", null, { pk: 7 })).toEqual({ id: "x", pk: 7 });
  });
});
