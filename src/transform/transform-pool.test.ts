import { describe, it, expect, afterEach } from "vitest";
import { compileTransformer } from "./jsonata-transformer.js";
import { transformBatch } from "./transform-batch.js";
import { RunawayEvaluation, TransformPool, threadScript } from "./transform-pool.js";

const enc = new TextEncoder();
const event = (id: number, op: string, table = "orders") =>
  enc.encode(
    JSON.stringify({
      op,
      before: null,
      after: { id, note: `n${id}`, big: "9007199254740993" },
      key: { id },
      source: { connector: "postgres", stream: "s", db: "d", schema: "public", table, pos: `p${id}`, txId: 7, ts_ms: 1000 + id, snapshot: false },
      ts_ms: 2,
    }),
  );

// every kind of outcome: kept as is, dropped, rebuilt, routed to another table, evaluation
// error, unreadable input, JSON that is not an object
const EXPR = `op = "d" ? undefined
  : after.id = 3 ? $error("no 3s")
  : after.id = 4 ? $merge([$, {"after": $merge([after, {"note": "***"}])}])
  : after.id = 5 ? $merge([$, {"source": $merge([source, {"table": "archive"}]), "key": {"k": 5}}])
  : $`;
const INPUTS = [event(1, "c"), event(2, "d"), event(3, "u"), event(4, "u"), event(5, "c"), enc.encode("{not json"), enc.encode("42"), event(6, "r")];

describe("transform batches (main thread and transform threads)", () => {
  let pool: TransformPool | undefined;
  afterEach(async () => {
    await pool?.close();
    pool = undefined;
  });

  it("says, per event in order, what goes on the wire", async () => {
    const r = await transformBatch(compileTransformer("t", EXPR), INPUTS);
    expect(r.items.map((o) => o.kind)).toEqual(["emit", "drop", "dead", "emit", "emit", "dead", "dead", "emit"]);
    // kept as is: no JSON (the input's bytes are published), headers from the input
    expect(r.items[0]).toEqual({ kind: "emit", schema: "public", table: "orders", op: "c", keyJson: '{"id":1}', json: null });
    expect(r.items[2]).toEqual({ kind: "dead", reason: "transform", message: expect.stringContaining("no 3s") });
    const masked = r.items[3]!;
    expect(masked.kind === "emit" && JSON.parse(masked.json!).after).toEqual({ id: 4, note: "***", big: "9007199254740993" });
    expect(r.items[4]).toMatchObject({ kind: "emit", table: "archive", keyJson: '{"k":5}' });
    expect(r.items[5]).toEqual({ kind: "dead", reason: "unreadable", message: expect.stringMatching(/^unreadable event \(not JSON\)/) });
    expect(r.items[6]).toEqual({ kind: "dead", reason: "unreadable", message: "unreadable event (not a JSON object)" });
    expect(r.lastTs).toBe(1006);
  });

  it("gives the same outcomes in a transform thread as on the main thread", async () => {
    expect(threadScript(), "the built thread script (npm run build)").not.toBeNull();
    pool = new TransformPool(1, 1);
    expect(pool.worthIt(1)).toBe(true);
    const inline = await transformBatch(compileTransformer("t", EXPR), INPUTS);
    const threaded = await pool.run("t", EXPR, INPUTS);
    expect(threaded).toEqual(inline);
    // many batches in flight at once come back to their own callers
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => pool!.run("t", EXPR, [event(100 + i, "c")])));
    expect(many.map((b) => (b.items[0]!.kind === "emit" ? b.items[0]!.keyJson : "?"))).toEqual(Array.from({ length: 20 }, (_, i) => `{"id":${100 + i}}`));
  });

  it("fails the batches a dead thread held, and starts a new thread for the next", async () => {
    pool = new TransformPool(1, 1);
    await pool.run("t", "$", [event(1, "c")]); // thread started
    const inFlight = pool.run("t", "$", Array.from({ length: 5000 }, (_, i) => event(i, "c")));
    await pool.kill(0);
    await expect(inFlight).rejects.toMatchObject({ code: "TRANSFORM_FAILED", message: expect.stringMatching(/transform thread 0 exited/) });
    const again = await pool.run("t", "$", [event(9, "c")]);
    expect(again.items[0]).toMatchObject({ kind: "emit", keyJson: '{"id":9}' });
  });

  it("terminates a thread whose evaluation blocks past its time limit, naming the event, and goes on with a new thread", async () => {
    pool = new TransformPool(1, 1);
    // a catastrophic regular expression blocks inside one built-in call: JSONata's own time
    // limit is never checked, only the watchdog can stop it
    const expr = '$contains(after.note, /^(a+)+$/) ? $merge([$, {"matched": true}]) : $';
    const withNote = (id: number, note: string) => enc.encode(JSON.stringify({ op: "c", after: { id, note }, key: { id }, source: { schema: "public", table: "t" } }));
    const batch = [withNote(1, "fine"), withNote(2, "a".repeat(40) + "!"), withNote(3, "fine")];
    const err = await pool.run("regex", expr, batch, { timeMs: 50, depth: 500 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunawayEvaluation);
    expect(err).toMatchObject({ transformer: "regex", index: 1, code: "TRANSFORM_FAILED", message: expect.stringMatching(/^transformer regex: evaluation ran for over \d+ ms/) });
    const again = await pool.run("regex", expr, [batch[0]!, batch[2]!], { timeMs: 50, depth: 500 });
    expect(again.items.map((o) => o.kind)).toEqual(["emit", "emit"]);
  });

  it("stops deep recursion at the largest depth limit in a thread too (before the thread's JavaScript stack)", async () => {
    pool = new TransformPool(1, 1);
    const r = await pool.run("deep", "($f := function($x){ 1 + $f($x) }; $f(1))", [event(1, "c")], { timeMs: 10_000, depth: 2000 });
    expect(r.items[0]).toEqual({ kind: "dead", reason: "limit", message: expect.stringContaining("depth limit of 2000") });
  });

  it("starts another thread only when the running ones are busy", async () => {
    pool = new TransformPool(2, 1);
    for (let i = 0; i < 5; i++) await pool.run("t", "$", [event(i, "c")]);
    expect(pool.running).toBe(1);
    await Promise.all(Array.from({ length: 4 }, (_, i) => pool!.run("t", "$", [event(i, "c")])));
    expect(pool.running).toBe(2);
  });

  it("evaluates in place when it has no threads or the batch is small", async () => {
    expect(new TransformPool(0).worthIt(1000)).toBe(false);
    // threads asked for but no compiled thread script: in place, and the node can say so
    const noScript = new TransformPool(1, 16, null);
    expect(noScript.worthIt(1000)).toBe(false);
    expect(noScript.scriptMissing).toBe(true);
    pool = new TransformPool(1, 16);
    expect(pool.worthIt(15)).toBe(false);
    expect(pool.worthIt(16)).toBe(true);
    await pool.close();
    expect(pool.worthIt(16)).toBe(false);
    await expect(pool.run("t", "$", [event(1, "c")])).rejects.toMatchObject({ code: "TRANSFORM_FAILED" });
  });
});
