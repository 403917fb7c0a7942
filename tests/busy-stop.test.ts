// A busy sink (messages buffered in the client) stops gracefully, not by the drain timeout:
// the graceful handoff of a loaded stream costs the drain, not 30 s. Observed only through
// the node's public surfaces: /v1/actors while it stops, /metrics, the leases bucket in KV.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import type { ActorInfo } from "../src/admin/index.js";
import type { RunningNode } from "../src/node/index.js";
import { cleanupCluster, createDb, eventually, leasesAndPosition, sleep, startTestNode, type TestDb, uniqueCluster, uniqueName } from "./support/index.js";

const SINK = "sink.b.slow";
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

const actors = async (): Promise<ActorInfo[]> => ((await (await fetch(`${node.adminUrl}/v1/actors`)).json()) as { actors: ActorInfo[] }).actors;
const applied = async (): Promise<number> => (await dst.query<{ n: number }>("SELECT count(*)::int AS n FROM public.t").catch(() => ({ rows: [{ n: 0 }] }))).rows[0]?.n ?? 0;

describe("graceful stop of a busy sink", () => {
  it("finishes its drain instead of timing out", async () => {
    node = await startTestNode(cluster, [
      {
        id: "b",
        source: { type: "postgres", url: src.url, tables: ["public.t"], slot: uniqueName("busy").slice(0, 50) },
        sinks: [{ name: "slow", type: "postgres", url: dst.url, autoCreate: true, batchMaxRows: 5 }],
      },
    ]);
    await eventually(async () => (await actors()).every((a) => a.ready), 30_000, "actors ready");
    await src.query("INSERT INTO t SELECT g, 'x' FROM generate_series(1, 20000) g");
    // wait until the sink is busy: applying, with much still to read
    await eventually(async () => (await applied()) > 200, 30_000, "sink applying");

    // watch the sink through /v1/actors while every actor stops
    const seen: ActorInfo[] = [];
    let stopping = true;
    const watcher = (async () => {
      while (stopping) {
        const sink = (await actors().catch(() => [])).find((a) => a.id === SINK);
        if (sink) seen.push(sink);
        await sleep(10);
      }
    })();
    await node.supervisor.stopAll();
    stopping = false;
    await watcher;

    // no error while stopping: a drain that timed out would say so (and count it below)
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.filter((a) => a.lastError !== null)).toEqual([]);
    // the node counts every error an actor reports, the drain timeout too: none for the sink
    const metrics = await (await fetch(`${node.adminUrl}/metrics`)).text();
    expect(metrics).not.toMatch(new RegExp(`tributary_errors_total\\{[^}]*actor="${SINK.replace(/\./g, "\\.")}"[^}]*\\} [1-9]`));
    // the sink released its lease (CAS delete) after its drain
    expect((await leasesAndPosition(cluster, "b")).leases).toEqual([]);
    expect(await actors()).toEqual([]);
    expect(await applied()).toBeLessThan(20000); // it really was stopped mid-stream
  });
});
