// A busy sink (messages buffered in the client) stops gracefully, not by the drain timeout:
// the graceful handoff of a loaded stream costs the drain, not 30 s.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { cleanupCluster, createDb, eventually, startTestNode, type TestDb, uniqueCluster, uniqueName } from "./support/index.js";
import type { RunningNode } from "../src/node/index.js";
import { pino } from "pino";
import { Writable } from "node:stream";

let src: TestDb;
let dst: TestDb;
let node: RunningNode;
const cluster = uniqueCluster("busy");

beforeAll(async () => {
  src = await createDb("busy_src");
  dst = await createDb("busy_dst");
  await src.query("CREATE TABLE t (id int primary key, v text)");
});
afterAll(async () => {
  await node?.shutdown("test end").catch(() => undefined);
  await src?.drop();
  await dst?.drop();
  await cleanupCluster(cluster);
});

describe("graceful stop of a busy sink", () => {
  it("finishes its drain instead of timing out", async () => {
    let log = "";
    const sinkStream = new Writable({ write: (chunk, _enc, cb) => ((log += chunk.toString()), cb()) });
    node = await startTestNode(cluster, [
      {
        id: "b",
        source: { type: "postgres", url: src.url, tables: ["public.t"], slot: uniqueName("busy").slice(0, 50) },
        sinks: [{ name: "slow", type: "postgres", url: dst.url, autoCreate: true, batchMaxRows: 5 }],
      },
    ], {}, pino({ level: "info" }, sinkStream));
    await eventually(() => node.supervisor.actors().every((a) => a.ready), 30_000, "actors ready");
    await src.query("INSERT INTO t SELECT g, 'x' FROM generate_series(1, 20000) g");
    // wait until the sink is busy: applying, with much still to read
    await eventually(async () => {
      const r = await dst.query<{ n: number }>("SELECT count(*)::int AS n FROM public.t").catch(() => ({ rows: [{ n: 0 }] }));
      return (r.rows[0]?.n ?? 0) > 200;
    }, 30_000, "sink applying");
    await node.supervisor.stopAll();
    // the sink went draining -> releasing -> stopped through its own drain, not the timeout
    const sinkLines = log.split("\n").filter((l) => l.includes('"actor":"sink.b.slow"') && l.includes('"msg":"actor state"'));
    expect(sinkLines.some((l) => l.includes('"state":"releasing"'))).toBe(true);
    expect(log).not.toMatch(/graceful stop timed out/);
    const applied = await dst.query<{ n: number }>("SELECT count(*)::int AS n FROM public.t");
    expect(applied.rows[0]?.n).toBeLessThan(20000); // it really was stopped mid-stream
  });
});
