// Poison inputs at the edges go to the DLQ and the stream goes on (issue 10, item 4; ADR
// 0011), on real PostgreSQL and the shared nats-server (max_payload 1 MB):
// - a 2 MB source row: dead-lettered by the reader with its key, table and position (not the
//   row), counted in tributary_events_oversized_total, and the slot moves past it;
// - a transformer output over max_payload: dead-lettered by the transformer;
// - a transformer output `{op: "u"}` (no `after`): dead-lettered by the sink with the reason;
// - a transformer returning null: dead-lettered with the reason (undefined/false filter).
// Rows after each of them arrive in the target.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { jetstreamManager, type StoredMsg } from "@nats-io/jetstream";
import { cleanupCluster, createDb, eventually, natsConnect, startTestNode, type TestDb, uniqueCluster, uniqueName } from "./support/index.js";
import type { RunningNode } from "../src/node/index.js";

let src: TestDb;
let dst: TestDb;
let node: RunningNode | undefined;
const cluster = uniqueCluster("poison");
const slot = uniqueName("poison").slice(0, 60);

beforeAll(async () => {
  src = await createDb("poison_src");
  dst = await createDb("poison_dst");
  await src.query("CREATE TABLE t (id int primary key, body text)");
});
afterAll(async () => {
  await node?.shutdown("test end");
  await src?.drop();
  await dst?.drop();
  await cleanupCluster(cluster);
});

/** Every message of the cluster's DLQ. */
async function deadLetters(): Promise<StoredMsg[]> {
  const nc = await natsConnect();
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(`${cluster}_DLQ`);
    const out: StoredMsg[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
      const m = await jsm.streams.getMessage(`${cluster}_DLQ`, { seq });
      if (m) out.push(m);
    }
    return out;
  } finally {
    await nc.close();
  }
}

/** A PostgreSQL LSN ("16/B374D848", or the first part of a reader position) as a number. */
function lsn(text: string): bigint {
  if (text.includes("/")) {
    const [hi, lo] = text.split("/");
    return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
  }
  return BigInt(`0x${text.split(":")[0]}`);
}

describe("poison events", () => {
  it("dead-letters an oversized source row, an oversized transformer output, an output without after and a null output, and the stream goes on", async () => {
    node = await startTestNode(cluster, [
      {
        id: "p1",
        source: { type: "postgres", url: src.url, tables: ["public.t"], slot },
        transformers: [
          {
            name: "x",
            jsonata: `after.id = 3 ? $merge([$, {"after": $merge([after, {"body": $pad("", 1200000, "y")}])}])
              : after.id = 4 ? {"op": "u"}
              : after.id = 5 ? null
              : after.id = 6 ? undefined
              : $`,
          },
        ],
        sinks: [{ name: "out", type: "postgres", url: dst.url, from: "x", table: "public.{table}", autoCreate: true }],
      },
    ]);
    await eventually(() => node!.supervisor.actors().length === 3 && node!.supervisor.actors().every((a) => a.ready), 30_000, "actors ready");
    await src.query("INSERT INTO t VALUES (1, 'before')");
    await src.query("INSERT INTO t VALUES (2, repeat('z', 2000000))");
    for (const id of [3, 4, 5, 6]) await src.query("INSERT INTO t VALUES ($1, 'small')", [id]);
    await src.query("INSERT INTO t VALUES (7, 'after')");

    const rows = await eventually(async () => {
      const r = await dst.query<{ id: number; body: string }>("SELECT id, body FROM public.t ORDER BY id").catch(() => ({ rows: [] as Array<{ id: number; body: string }> }));
      return r.rows.some((x) => x.id === 7) ? r.rows : null;
    }, 60_000, "row 7 in the target");
    expect(rows).toEqual([
      { id: 1, body: "before" },
      { id: 7, body: "after" },
    ]);

    const dl = await eventually(async () => {
      const all = await deadLetters().catch(() => []);
      return all.length >= 4 ? all : null;
    }, 30_000, "four dead letters");
    expect(dl).toHaveLength(4);
    const by = (actor: string) => dl.filter((m) => m.subject === `${cluster}.dlq.p1.${actor}`);

    // the 2 MB row: key, table and position, not the row
    const [row] = by("stream");
    expect(row!.header.get("Tributary-Reason")).toBe("oversized");
    expect(row!.header.get("Tributary-Orig-Tributary-Key")).toBe('{"id":2}');
    expect(row!.header.get("Tributary-Orig-Tributary-Table")).toBe("public.t");
    expect(row!.header.get("Tributary-Error")).toMatch(/^event of public\.t at position \S+ is \d+ bytes, over the NATS max_payload of 1048576 bytes/);
    const pos = row!.header.get("Tributary-Original-Pos");
    expect(pos).toMatch(/^[0-9A-F]{16}:/);
    expect(row!.json()).toMatchObject({ reason: "oversized", schema: "public", table: "t", op: "c", pos, key: { id: 2 } });
    expect(row!.data.length).toBeLessThan(1000);

    // the transformer's: its oversized output (id 3) and its null (id 5); evaluation dead
    // letters of a batch are written before its outputs are published, so by key, not order
    const xf = by("transformer-x").sort((a, b) => a.header.get("Tributary-Orig-Tributary-Key").localeCompare(b.header.get("Tributary-Orig-Tributary-Key")));
    expect(xf.map((m) => m.header.get("Tributary-Reason"))).toEqual(["oversized", "transform"]);
    expect(xf[0]!.header.get("Tributary-Orig-Tributary-Key")).toBe('{"id":3}');
    expect(xf[0]!.header.get("Tributary-Orig-Tributary-Source-Seq")).toMatch(/^\d+$/);
    expect(xf[1]!.header.get("Tributary-Error")).toBe("transformer x: the expression returned null; return undefined or false to filter an event out");
    expect(JSON.parse(new TextDecoder().decode(xf[1]!.data)).after).toEqual({ id: 5, body: "small" });

    // the sink's: the output without after (id 4), with the reason; the key came from the input
    const [bare] = by("sink-out");
    expect(bare!.header.get("Tributary-Reason")).toBe("malformed");
    expect(bare!.header.get("Tributary-Error")).toMatch(/^sink out cannot apply event seq \d+: op 'u' is an upsert and needs an 'after' object with the row \(got undefined\)/);
    expect(JSON.parse(new TextDecoder().decode(bare!.data))).toMatchObject({ op: "u", key: { id: 4 } });

    // counted, and undefined counted as filtered
    const metrics = await (await fetch(`${node.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/tributary_events_oversized_total\{stream="p1",actor="stream"\} 1\n/);
    expect(metrics).toMatch(/tributary_events_oversized_total\{stream="p1",actor="transformer-x"\} 1\n/);
    expect(metrics).toMatch(/tributary_events_dropped_total\{stream="p1",actor="transformer-x",reason="filter"\} 1\n/);

    // the slot does not hold the WAL at the oversized row: it is acknowledged past it
    await eventually(async () => {
      const r = await src.query<{ lsn: string | null }>("SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1", [slot]);
      const at = r.rows[0]?.lsn;
      return at ? lsn(at) > lsn(pos) : false;
    }, 30_000, "the slot confirmed past the oversized row");
  });
});
