/** Positions of the Cosmos DB source: event position order, run generations, stored checkpoints, the SDK token. */
import { describe, expect, it } from "vitest";
import { decodePosition, eventPos, genOf, nextGeneration, tokenInfo } from "./position.js";

describe("event positions", () => {
  it("sort as strings in publication order: by generation, then by counter", () => {
    const ps = [eventPos(1, 9), eventPos(1, 10), eventPos(2, 1), eventPos(10, 0), eventPos(10, 123_456_789_012)];
    expect([...ps].sort()).toEqual(ps);
    expect(eventPos(3, 42)).toBe("0000000003:000000000042");
  });

  it("tell their generation back; anything else is generation 0", () => {
    expect(genOf(eventPos(77, 5))).toBe(77);
    expect(genOf(null)).toBe(0);
    expect(genOf("00000000016B3748:t:0000000003")).toBe(0);
  });

  it("a new run publishes after both the checkpoint and the stream's tail", () => {
    expect(nextGeneration(null, null)).toBe(1);
    expect(nextGeneration({ v: 1, gen: 4, containers: {} }, eventPos(2, 99))).toBe(5);
    // the stream holds events of a run whose checkpoint was never written (a crash)
    expect(nextGeneration({ v: 1, gen: 4, containers: {} }, eventPos(6, 1))).toBe(7);
    // so every position of the new run sorts after the tail: nothing is skipped as already published
    expect(eventPos(nextGeneration({ v: 1, gen: 4, containers: {} }, eventPos(6, 999)), 1) > eventPos(6, 999)).toBe(true);
  });
});

describe("stored checkpoints", () => {
  it("decode the v1 shape and copy it", () => {
    const raw = { v: 1, gen: 3, containers: { orders: '{"rid":"x","Continuation":[]}' } };
    const p = decodePosition(raw);
    expect(p).toEqual(raw);
    expect(p!.containers).not.toBe(raw.containers);
    expect(decodePosition(null)).toBeNull();
    expect(decodePosition(undefined)).toBeNull();
  });

  it("refuse another connector's position or a broken one", () => {
    expect(() => decodePosition({ lsn: "0/16B3748", snapshotDone: true })).toThrow(/not a Cosmos DB source position/);
    expect(() => decodePosition({ v: 2, gen: 1, containers: {} })).toThrow(/not a Cosmos DB source position/);
    expect(() => decodePosition({ v: 1, gen: 1, containers: { c: 5 } })).toThrow(/continuation of container "c" is not a string/);
  });
});

describe("the SDK's continuation token", () => {
  it("gives the container's _rid and one entry per feed range (two after a split)", () => {
    const token = JSON.stringify({
      rid: "AbCd==",
      Continuation: [
        { minInclusive: "", maxExclusive: "7F", continuationToken: '"11"' },
        { minInclusive: "7F", maxExclusive: "FF", continuationToken: '"12"' },
      ],
    });
    expect(tokenInfo(token)).toEqual({ rid: "AbCd==", ranges: [{ min: "", max: "7F", etag: '"11"' }, { min: "7F", max: "FF", etag: '"12"' }] });
  });

  it("is null for other shapes (a partition-key scoped token, not JSON)", () => {
    expect(tokenInfo(JSON.stringify({ rid: "x", partitionKey: "p1", Continuation: '"8"' }))).toBeNull();
    expect(tokenInfo("not json")).toBeNull();
    expect(tokenInfo(JSON.stringify({ Continuation: [] }))).toBeNull();
  });
});
