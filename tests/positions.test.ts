/**
 * Positions tell the truth in NATS (issue 11, item 4): a sink's `<stream>.sink.<name>` in
 * the positions bucket catches up with the offset in its target once events stop (it stayed
 * at an old value while the sink was idle) and shows the target's offset from the moment the
 * sink starts; the lag formula of docs/operations.md — the input stream's last sequence
 * minus the position's `seq` — gives 0 for a caught-up sink and transformer and exactly the
 * unapplied events for a blocked sink; sinks and transformers read through consumers whose
 * names say whose they are (`nats consumer ls`).
 */
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { positionKey, type PositionValue } from "../src/nats/index.js";
import type { RunningNode } from "../src/node/index.js";
import { cleanupCluster, createDb, eventually, natsConnect, startTestNode, uniqueCluster, type TestDb } from "./support/index.js";

const cluster = uniqueCluster("pos");
const S = "pos";
let src: TestDb;
let raw: TestDb;
let copy: TestDb;
let node: RunningNode | undefined;
let jsm: JetStreamManager;

beforeAll(async () => {
  src = await createDb("possrc");
  raw = await createDb("posraw");
  copy = await createDb("poscopy");
  await src.query("CREATE TABLE items (id int PRIMARY KEY, name text, note text)");
}, 60_000);
afterAll(async () => {
  await node?.shutdown("test done").catch(() => undefined);
  await cleanupCluster(cluster);
  for (const db of [src, raw, copy]) await db?.drop();
});

const spec = () => ({
  id: S,
  source: { type: "postgres", url: src.url, tables: ["public.items"] },
  transformers: [{ name: "slim", jsonata: '$ ~> |after|{}, ["note"]|' }],
  sinks: [
    { name: "raw", type: "postgres", url: raw.url, autoCreate: true },
    { name: "copy", type: "postgres", url: copy.url, from: "slim", autoCreate: true },
  ],
});

/** The default checkpoint interval (1 s): the debounce that used to hold an idle sink's last position back. */
const start = async () => {
  node = await startTestNode(cluster, [spec()], { checkpoint: { interval: "1s" } });
  jsm = await jetstreamManager(node.nc);
};

const lastSeq = async (stream: string) => (await jsm.streams.info(stream)).state.last_seq;
const kvSeq = async (ref: { kind: "transformer" | "sink"; name: string }) => (await node!.cp.positions.get(positionKey({ ...ref, stream: S })))?.json<PositionValue<{ seq: number }>>();
const targetSeq = async (db: TestDb) => Number((await db.query<{ seq: string }>("SELECT max(seq)::text AS seq FROM tributary.sink_offsets").catch(() => ({ rows: [{ seq: "0" }] }))).rows[0]?.seq ?? 0);
const cdc = `${cluster}_CDC_${S}`;
const xf = `${cluster}_XF_${S}_slim`;

/** The lag formula of docs/operations.md: input stream's Last Sequence − the position's seq. */
async function lag(ref: { kind: "transformer" | "sink"; name: string }, input: string): Promise<number> {
  return (await lastSeq(input)) - ((await kvSeq(ref))?.position?.seq ?? 0);
}

describe("positions in the positions bucket follow the truth", () => {
  it("an idle sink's and transformer's positions reach the last event: the lag formula gives 0", async () => {
    await start();
    for (let i = 0; i < 6; i++) await src.query(`INSERT INTO items SELECT g, 'n' || g, 'secret note' FROM generate_series(${i * 100 + 1}, ${i * 100 + 100}) g`);
    await eventually(async () => Number((await copy.query<{ n: number }>("SELECT count(*)::int AS n FROM public.items").catch(() => ({ rows: [{ n: 0 }] }))).rows[0]!.n) === 600, 60_000, "600 rows in the copy");
    await eventually(async () => (await targetSeq(raw)) === (await lastSeq(cdc)) && (await targetSeq(copy)) === (await lastSeq(xf)), 60_000, "both targets applied everything");
    // nothing moves any more: the positions must still get there
    await eventually(async () => (await lag({ kind: "sink", name: "raw" }, cdc)) === 0, 15_000, "sink raw's lag 0 by the formula");
    await eventually(async () => (await lag({ kind: "sink", name: "copy" }, xf)) === 0, 15_000, "sink copy's lag 0 by the formula");
    await eventually(async () => (await lag({ kind: "transformer", name: "slim" }, cdc)) === 0, 15_000, "transformer slim's lag 0 by the formula");
    expect((await kvSeq({ kind: "sink", name: "raw" }))!.position!.seq).toBe(await targetSeq(raw));
    expect((await kvSeq({ kind: "sink", name: "copy" }))!.position!.seq).toBe(await targetSeq(copy));
  });

  it("a blocked sink's lag by the formula is exactly the events its target has not applied", async () => {
    const before = await lastSeq(cdc);
    // hold the raw target's table: the sink's next transaction waits on it
    const blocker: pg.Client = raw.client;
    await blocker.query("BEGIN");
    await blocker.query("LOCK TABLE public.items IN ACCESS EXCLUSIVE MODE");
    try {
      await src.query("INSERT INTO items SELECT g, 'late ' || g, 'x' FROM generate_series(601, 700) g");
      await eventually(async () => (await lastSeq(cdc)) === before + 100, 30_000, "100 more events in CDC");
      await eventually(async () => (await lag({ kind: "sink", name: "copy" }, xf)) === 0 && (await targetSeq(copy)) === (await lastSeq(xf)), 30_000, "the other sink caught up");
      expect(await lag({ kind: "sink", name: "raw" }, cdc)).toBe(100);
    } finally {
      await blocker.query("ROLLBACK");
    }
    await eventually(async () => (await lag({ kind: "sink", name: "raw" }, cdc)) === 0, 30_000, "raw caught up once unblocked");
  });

  it("a sink shows its target's offset as soon as it starts, even when the bucket said something else and no event comes", async () => {
    const key = positionKey({ kind: "sink", stream: S, name: "raw" });
    const cur = (await kvSeq({ kind: "sink", name: "raw" }))!;
    await node!.shutdown("restart");
    // what the demo showed: {"seq":0} while the target had applied everything
    const c = await natsConnect();
    await (await new Kvm(c).open(`${cluster}_positions`)).put(key, JSON.stringify({ ...cur, position: { seq: 0 } }));
    await c.close();
    await start();
    const applied = await targetSeq(raw);
    expect(applied).toBeGreaterThan(600);
    await eventually(async () => (await kvSeq({ kind: "sink", name: "raw" }))?.position?.seq === applied, 15_000, "the target's offset in the bucket");
  });

  it("sinks and transformers read through consumers named after themselves", async () => {
    const names = async (stream: string) => {
      const out: string[] = [];
      for await (const c of jsm.consumers.list(stream)) out.push(c.name);
      return out;
    };
    const onCdc = await eventually(async () => {
      const n = await names(cdc);
      return n.some((x) => x.startsWith(`sink_${S}_raw_e`)) && n.some((x) => x.startsWith(`transformer_${S}_slim_e`)) ? n : null;
    }, 15_000, "named consumers on CDC");
    expect(onCdc.filter((n) => n.startsWith("oc_"))).toEqual([]);
    const epoch = JSON.parse((await node!.cp.leases.get(`sink.${S}.raw`))!.string()).epoch as number;
    expect(onCdc.some((n) => new RegExp(`^sink_${S}_raw_e${epoch}_[a-z0-9]+_\\d+$`).test(n))).toBe(true);
    expect((await names(xf)).some((n) => n.startsWith(`sink_${S}_copy_e`))).toBe(true);
  });
});
