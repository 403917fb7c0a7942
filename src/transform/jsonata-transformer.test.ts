import { describe, it, expect } from "vitest";
import { compileTransformer, mayBlock } from "./jsonata-transformer.js";
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
  it("dead-letters a null result, saying how to filter instead", async () => {
    const r = await compileTransformer("nul", "after.id = 1 ? null : $").apply(ev);
    expect(r).toEqual({ kind: "error", message: "transformer nul: the expression returned null; return undefined or false to filter an event out" });
  });
  it("stops a runaway tail-recursive expression at its time limit, as a limit error", async () => {
    const r = await compileTransformer("loop", "($f := function($x){ $f($x) }; $f(1))", { timeMs: 50, depth: 500 }).apply(ev);
    expect(r).toMatchObject({ kind: "error", limit: true, message: expect.stringMatching(/^transformer loop: evaluation exceeded the time limit of 50 ms \(D1012/) });
    // the next event gets its own time budget
    const ok = compileTransformer("ok", "$", { timeMs: 50, depth: 500 });
    expect((await ok.apply(ev)).kind).toBe("emit");
  });
  it("stops deep recursion at its depth limit (also at the largest depth allowed, before the JavaScript stack)", async () => {
    const deep = "($f := function($x){ 1 + $f($x) }; $f(1))";
    expect(await compileTransformer("deep", deep, { timeMs: 10_000, depth: 100 }).apply(ev)).toMatchObject({
      kind: "error",
      limit: true,
      message: expect.stringMatching(/^transformer deep: evaluation exceeded the depth limit of 100 \(D1011/),
    });
    expect(await compileTransformer("deep", deep, { timeMs: 10_000, depth: 2000 }).apply(ev)).toMatchObject({ kind: "error", limit: true, message: expect.stringContaining("depth limit of 2000") });
    // a recursion that ends within the limit is fine
    const r = await compileTransformer("fact", '($f := function($n){ $n <= 1 ? 1 : $n * $f($n - 1) }; $merge([$, {"n": $f(10)}]))').apply(ev);
    expect(r.kind === "emit" && r.value.n).toBe(3628800);
  });
  it("knows which expressions can block inside one step (a regular expression, $eval)", () => {
    expect(mayBlock("$contains(after.note, /^(a+)+$/) ? $ : undefined")).toBe(true);
    expect(mayBlock('$merge([$, {"n": $replace(after.note, /x/, "y")}])')).toBe(true);
    expect(mayBlock('$eval("1 + 1") ? $ : undefined')).toBe(true);
    expect(mayBlock('$merge([$, {"after": $merge([after, {"email": "***"}])}])')).toBe(false);
    expect(mayBlock('$contains(after.note, "a+") ? $ : undefined')).toBe(false);
    expect(mayBlock("($f := function($x){ $f($x) }; $f(1))")).toBe(false);
    expect(mayBlock("$merge([$, {")).toBe(false);
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
