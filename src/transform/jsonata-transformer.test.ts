import { describe, it, expect } from "vitest";
import { compileTransformer } from "./jsonata-transformer.js";
import { TributaryError } from "../base/index.js";

const ev = {
  op: "u",
  before: null,
  after: { id: 1, name: "ada", amount: "150.25", email: "a@x.io" },
  key: { id: 1 },
  source: { connector: "postgres", stream: "s", db: "d", schema: "public", table: "t", pos: "p", txId: 1, ts_ms: 1, snapshot: false },
  ts_ms: 2,
};

describe("JSONata transformer", () => {
  it("passes the event through with the identity expression", async () => {
    expect(await compileTransformer("id", "$").apply(ev)).toEqual({ kind: "emit", value: ev });
  });
  it("masks a column and keeps the envelope", async () => {
    const r = await compileTransformer("mask", '$merge([$, {"after": $merge([after, {"email": "***"}])}])').apply(ev);
    if (r.kind !== "emit") throw new Error(`expected an emitted event, got ${JSON.stringify(r)}`);
    expect(r.value.after).toMatchObject({ email: "***", name: "ada" });
  });
  it("drops events when the result is undefined or false (filter)", async () => {
    const t = compileTransformer("big", 'op != "d" and $number(after.amount) > 200 ? $ : undefined');
    expect(await t.apply(ev)).toEqual({ kind: "drop" });
    expect(await compileTransformer("f", "false").apply(ev)).toEqual({ kind: "drop" });
    expect((await compileTransformer("big2", '$number(after.amount) > 100 ? $ : undefined').apply(ev)).kind).toBe("emit");
  });
  it("reports an evaluation error (comparing a decimal string with a number) as an error result, not a throw", async () => {
    const r = await compileTransformer("bad", "after.amount > 100 ? $ : undefined").apply(ev);
    expect(r.kind).toBe("error");
    expect((r as { message: string }).message).toMatch(/transformer bad: .*(same data type|type)/i);
  });
  it("refuses non-object results", async () => {
    const r = await compileTransformer("arr", "[1,2]").apply(ev);
    expect(r).toMatchObject({ kind: "error" });
    expect((r as { message: string }).message).toMatch(/must return an event object/);
  });
  it("rejects a syntax error at compile time naming the transformer and position", () => {
    expect(() => compileTransformer("broken", "$merge([$, {")).toThrow(TributaryError);
    expect(() => compileTransformer("broken", "$merge([$, {")).toThrow(/transformer broken: JSONata syntax error at position \d+/);
  });
});
