/**
 * kill -9 of a node in the middle of a MongoDB snapshot (the fake server runs in this
 * process and keeps its state): the restarted reader continues after the last checkpointed
 * `_id` — it does not start over from zero — as a later attempt, then streams every change
 * made meanwhile from the FIRST attempt's start point. Nothing is lost; per key, the
 * snapshot read comes before that key's changes.
 */
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/nats-core";
import { afterAll, describe, expect, it } from "vitest";
import { NodeProc, assertBuilt, cleanupCluster, eventually, mongoRig, natsConnect, pipelineConfig, streamState, uniqueCluster, type MongoRig } from "./support/index.js";

const cluster = uniqueCluster("mcrash");
const S = "mc";
const N = 30_000;
let rig: MongoRig | undefined;
let node: NodeProc | undefined;
let nc: NatsConnection | undefined;
afterAll(async () => {
  await node?.kill9();
  await nc?.close();
  await rig?.stop();
  await cleanupCluster(cluster);
});

interface Seen {
  op: string;
  id: number;
  pos: string;
}

describe("MongoDB snapshot under kill -9", () => {
  it("resumes after the last checkpointed _id, then streams what changed meanwhile", async () => {
    assertBuilt();
    rig = await mongoRig();
    const c = rig.admin.db("shop").collection("big");
    for (let i = 0; i < N; i += 5000) await c.insertMany(Array.from({ length: 5000 }, (_, k) => ({ _id: (i + k) as never, pad: "x".repeat(200) })));
    nc = await natsConnect();
    const stream = { id: S, source: { type: "mongodb", url: rig.fake.url, collections: ["shop.big"], snapshotBatchSize: 100, maxAwaitTime: "100ms" } };
    node = await NodeProc.create({ config: pipelineConfig(cluster, [stream])("n1") });
    node.start();
    const positions = await new Kvm(nc).open(`${cluster}_positions`).catch(() => null);
    // kill as soon as a checkpoint inside the snapshot is durable
    const lastId = await eventually(async () => {
      const kv = positions ?? (await new Kvm(nc!).open(`${cluster}_positions`));
      // the last _id as canonical Extended JSON: {"$numberInt": "1799"}
      const p = (await kv.get(S).catch(() => null))?.json<{ position?: { snapshot?: { lastId: { $numberInt: string } | null } } }>();
      const id = p?.position?.snapshot?.lastId;
      return id ? Number(id.$numberInt) : null;
    }, 60_000, "a checkpoint inside the snapshot", 20);
    await node.kill9();
    const published = (await streamState(nc, `${cluster}_CDC_${S}`))!.messages;
    expect(published).toBeLessThan(N); // it really died mid-snapshot

    await c.updateOne({ _id: 0 as never }, { $set: { changed: true } });
    await c.deleteOne({ _id: 1 as never });
    await c.insertOne({ _id: N as never });
    await c.updateOne({ _id: (N - 1) as never }, { $set: { changed: true } });
    node.start();
    await eventually(async () => (await streamState(nc!, `${cluster}_CDC_${S}`))!.messages >= N + 4 + (published - (lastId + 1)) - 1, 120_000, "the rest of the snapshot and the four changes");
    await new Promise((r) => setTimeout(r, 1000));

    const name = `${cluster}_CDC_${S}`;
    const info = await (await jetstreamManager(nc)).streams.info(name);
    const consumer = await jetstream(nc).consumers.get(name);
    const seen: Seen[] = [];
    for await (const m of await consumer.fetch({ max_messages: info.state.messages, expires: 10_000 })) {
      const e = m.json<{ op: string; key: { _id: number }; source: { pos: string } }>();
      seen.push({ op: e.op, id: e.key._id, pos: e.source.pos });
      if (m.seq === info.state.last_seq) break;
    }
    expect(seen.length).toBe(info.state.messages);
    const second = seen.filter((e) => e.pos.includes(":s:0002:"));
    // not from zero: the second attempt starts right after the checkpointed _id
    expect(second[0]!.id).toBe(lastId + 1);
    // …and reads the rest in _id order, the document inserted while the node was down included
    expect(second.map((e) => e.id)).toEqual(Array.from({ length: N - lastId }, (_, k) => k + lastId + 1).filter((id) => id !== 1));
    // nothing lost: every document read at least once, the deleted one before its delete
    const read = new Set(seen.filter((e) => e.op === "r").map((e) => e.id));
    for (let i = 0; i < N; i++) if (i !== 1 || lastId >= 1) expect(read.has(i), `document ${i}`).toBe(true);
    const changes = seen.filter((e) => e.op !== "r").map((e) => `${e.op} ${e.id}`);
    expect(changes).toEqual(["u 0", "d 1", `c ${N}`, `u ${N - 1}`]);
    // per key: the snapshot read of N-1 (attempt 2) comes before its update
    const idx = (op: string, id: number) => seen.findIndex((e) => e.op === op && e.id === id);
    expect(idx("r", N - 1)).toBeLessThan(idx("u", N - 1));
    // positions strictly increase in the stream
    const pos = seen.map((e) => e.pos);
    expect(pos.every((p, i) => i === 0 || p > pos[i - 1]!)).toBe(true);
  }, 240_000);
});
