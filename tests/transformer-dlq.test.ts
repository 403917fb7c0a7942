// The transformer as a filter and its dead-letter queue: an evaluation error sends the
// event to dlq.<stream>.transformer-<name> with the reason, original subject, headers and
// payload, and the stream goes on. Also: removing a stream from the applied set stops it.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { jetstreamManager } from "@nats-io/jetstream";
import { cleanupCluster, createDb, eventually, natsConnect, startTestNode, type TestDb, uniqueCluster, uniqueName } from "./support/index.js";
import { applyStreams } from "../src/node/index.js";
import type { RunningNode } from "../src/node/index.js";

let src: TestDb;
let dst: TestDb;
let node: RunningNode;
const cluster = uniqueCluster("dlq");

beforeAll(async () => {
  src = await createDb("dlq_src");
  dst = await createDb("dlq_dst");
  await src.query("CREATE TABLE t (id int primary key, n int, label text)");
});
afterAll(async () => {
  await node?.shutdown("test end");
  await src?.drop();
  await dst?.drop();
  await cleanupCluster(cluster);
});

describe("transformer filter and DLQ", () => {
  it("drops filtered events, dead-letters evaluation errors with the reason, and keeps going", async () => {
    const slot = uniqueName("dlq").slice(0, 60);
    node = await startTestNode(cluster, [
      {
        id: "s1",
        source: { type: "postgres", url: src.url, tables: ["public.t"], slot },
        transformers: [{ name: "big", jsonata: 'after.n = 3 ? $error("n must not be 3") : (op = "d" or after.n > 5 ? $ : undefined)' }],
        sinks: [{ name: "out", type: "postgres", url: dst.url, from: "big", table: "public.{table}", autoCreate: true }],
      },
    ]);
    await eventually(() => node.supervisor.actors().every((a) => a.ready), 30_000, "actors ready");
    await src.query("INSERT INTO t SELECT g, g, 'row ' || g FROM generate_series(1, 10) g");
    await src.query("INSERT INTO t VALUES (11, 11, 'after the poison')");
    const rows = await eventually(async () => {
      const r = await dst.query<{ id: number }>("SELECT id FROM public.t ORDER BY id").catch(() => ({ rows: [] as Array<{ id: number }> }));
      return r.rows.length === 6 ? r.rows.map((x) => x.id) : null;
    }, 30_000, "filtered rows in the target");
    expect(rows).toEqual([6, 7, 8, 9, 10, 11]);

    const nc = await natsConnect();
    try {
      const jsm = await jetstreamManager(nc);
      const dlq = await jsm.streams.info(`${cluster}_DLQ`);
      expect(dlq.state.messages).toBe(1);
      const m = await jsm.streams.getMessage(`${cluster}_DLQ`, { seq: dlq.state.first_seq });
      expect(m?.subject).toBe(`${cluster}.dlq.s1.transformer-big`);
      expect(m?.header.get("Tributary-Error")).toMatch(/transformer big: .*n must not be 3/);
      expect(m?.header.get("Tributary-Original-Subject")).toBe(`${cluster}.cdc.s1.public.t`);
      expect(m?.header.get("Tributary-Orig-Tributary-Op")).toBe("c");
      expect(JSON.parse(new TextDecoder().decode(m!.data)).after).toEqual({ id: 3, n: 3, label: "row 3" });
    } finally {
      await nc.close();
    }

    // removing the stream from the applied set stops its actors and releases their leases
    await applyStreams(node.cp.streams, []);
    await eventually(() => node.supervisor.actors().length === 0, 30_000, "actors stopped");
    const leases: string[] = [];
    for await (const k of await node.cp.leases.keys()) leases.push(k);
    expect(leases).toEqual([]);
  });
});
