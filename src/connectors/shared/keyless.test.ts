/** Insert-only replication of tables without a primary key (docs/types.md): the refusal, the synthetic key, the warning at a snapshot retry. */
import { pino, type Logger } from "pino";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { checkKeylessTable, insertOnlyRow, SYNTHETIC_KEY, warnKeylessRetry } from "./keyless.js";

/** A logger whose lines end up in `lines`. */
function captured(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>), done()) });
  return { log: pino({ level: "info" }, sink), lines };
}

describe("tables without a primary key", () => {
  it("are refused unless insert-only, naming the table and both ways out; a column named like the synthetic key is refused", () => {
    expect(() => checkKeylessTable("s", "app.t", ["a"], "refuse", "ALTER TABLE app.t ADD PRIMARY KEY (…)")).toThrow(/stream s: table app\.t has no primary key: .*Add a primary key \(ALTER TABLE app\.t ADD PRIMARY KEY \(…\)\), or set source\.keylessTables: insert-only/);
    expect(() => checkKeylessTable("s", "app.t", ["a"], "insert-only", "")).not.toThrow();
    expect(() => checkKeylessTable("s", "app.t", ["a", SYNTHETIC_KEY], "insert-only", "")).toThrow(/has a column named _tributary_pos/);
  });

  it("key each inserted row by its position, NULLs and all", () => {
    expect(insertOnlyRow({ id: 1, v: null }, "0/1:t:2")).toEqual({ after: { id: 1, v: null, _tributary_pos: "0/1:t:2" }, key: { _tributary_pos: "0/1:t:2" } });
  });

  it("make a snapshot retry warn, naming the tables; a first attempt says nothing", async () => {
    const { log, lines } = captured();
    warnKeylessRetry(log, 1, ["app.t"]);
    warnKeylessRetry(log, 2, []);
    warnKeylessRetry(log, 2, ["app.t"]);
    await new Promise((r) => setImmediate(r));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, attempt: 2, tables: ["app.t"] });
    expect(String(lines[0]!.msg)).toMatch(/may be in their targets twice; to be exact, empty those target tables and re-snapshot the stream/);
  });
});
