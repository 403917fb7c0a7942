import { describe, it, expect } from "vitest";
import { malformedReason } from "./sink-input.js";

const source = { schema: "public", table: "t" };

describe("sink input shape", () => {
  it("accepts the envelope's events", () => {
    expect(malformedReason({ op: "c", after: { id: 1 }, key: { id: 1 }, source })).toBeUndefined();
    expect(malformedReason({ op: "u", after: { id: 1 }, source })).toBeUndefined();
    expect(malformedReason({ op: "d", before: null, key: { id: 1 }, source })).toBeUndefined();
    expect(malformedReason({ op: "d", before: { id: 1 }, source })).toBeUndefined();
    expect(malformedReason({ op: "t", source })).toBeUndefined();
    // a MongoDB update whose document was deleted before the lookup: the description, no after
    expect(malformedReason({ op: "u", after: null, update: { updated: { n: 1 }, removed: [] }, key: { _id: "a" }, source })).toBeUndefined();
  });
  it("names what an event lacks", () => {
    expect(malformedReason({ op: "u", after: null, update: null, key: { id: 1 }, source })).toMatch(/needs an 'after' object .*got null/);
    expect(malformedReason({ op: "u", key: { id: 1 }, source })).toBe("op 'u' is an upsert and needs an 'after' object with the row (got undefined)");
    expect(malformedReason({ op: "c", after: null, source })).toMatch(/needs an 'after' object .*got null/);
    expect(malformedReason({ op: "r", after: [1], source })).toMatch(/got an array/);
    expect(malformedReason({ op: "d", key: {}, source })).toBe("op 'd' needs a 'key' or a 'before' object to find the row to delete");
    expect(malformedReason({ op: "x", after: {}, source })).toBe('unknown op "x" (expected c, r, u, d or t)');
    expect(malformedReason({ after: {}, source })).toMatch(/unknown op undefined/);
    expect(malformedReason({ op: "c", after: {}, source: null })).toMatch(/source\.schema and source\.table/);
    expect(malformedReason({ op: "c", after: {}, source: { table: "t" } })).toMatch(/source\.schema and source\.table/);
    expect(malformedReason({ op: "c", after: {}, key: "k", source })).toBe('key must be an object of key columns (got "k")');
    expect(malformedReason(42)).toBe("not an event object (got 42)");
  });
});
