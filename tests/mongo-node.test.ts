/**
 * A MongoDB stream on a node in this process, through the kernel into JetStream: snapshot
 * then changes on `cdc.<stream>.<db>.<collection>`; a graceful restart republishes nothing;
 * a stream stopped beyond the oplog window fails with 286 naming the way out, and the
 * `snapshot` action (POST /v1/streams/:id/snapshot, src/node/resnapshot.ts) recovers it.
 */
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { afterAll, describe, expect, it } from "vitest";
import type { NatsConnection } from "@nats-io/nats-core";
import type { RunningNode } from "../src/node/index.js";
import { cleanupCluster, eventually, mongoRig, natsConnect, startTestNode, uniqueCluster, type MongoRig } from "./support/index.js";

const cluster = uniqueCluster("mgn");
const S = "mg";
let rig: MongoRig | undefined;
let node: RunningNode | undefined;
let nc: NatsConnection | undefined;
afterAll(async () => {
  await nc?.close();
  await node?.shutdown("test done").catch(() => undefined);
  await rig?.stop();
  await cleanupCluster(cluster);
});

interface Published {
  subject: string;
  op: string;
  key: { _id: unknown };
  pos: string;
}

/** Every event in the stream's CDC JetStream stream, in order. */
async function published(jsm: JetStreamManager): Promise<Published[]> {
  const name = `${cluster}_CDC_${S}`;
  const info = await jsm.streams.info(name).catch(() => null);
  const out: Published[] = [];
  if (!info) return out;
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(name, { seq });
    if (!m) continue;
    const e = m.json<{ op: string; key: { _id: unknown }; source: { pos: string } }>();
    out.push({ subject: m.subject, op: e.op, key: e.key, pos: e.source.pos });
  }
  return out;
}

describe("MongoDB stream on a node", () => {
  it("snapshot and changes into JetStream; a restart republishes nothing; 286 → clear error → re-snapshot recovers", async () => {
    rig = await mongoRig();
    const c = rig.admin.db("shop").collection("orders");
    await c.insertMany(Array.from({ length: 50 }, (_, i) => ({ _id: i as never, v: i })));
    const stream = { id: S, source: { type: "mongodb", url: rig.fake.url, collections: ["shop.orders"], snapshotBatchSize: 20, maxAwaitTime: "100ms" } };
    node = await startTestNode(cluster, [stream]);
    nc = await natsConnect(); // the test's own: a node's connection closes with the node
    const jsm = await jetstreamManager(nc);
    const actor = () => node!.supervisor.actors().find((a) => a.id === `stream.${S}`);
    await eventually(async () => (await published(jsm)).length === 50, 30_000, "the 50 snapshot reads");
    for (let i = 50; i < 55; i++) await c.insertOne({ _id: i as never });
    await c.updateOne({ _id: 0 as never }, { $set: { v: -1 } });
    await eventually(async () => (await published(jsm)).length === 56, 30_000, "the six changes");
    let events = await published(jsm);
    expect(events.every((e) => e.subject === `${cluster}.cdc.${S}.shop.orders` || e.subject.endsWith(`cdc.${S}.shop.orders`))).toBe(true);
    expect(events.map((e) => e.op)).toEqual([...Array(50).fill("r"), ...Array(5).fill("c"), "u"]);

    // a graceful restart: the stream continues from its checkpoint, republishing nothing
    await node.shutdown("restart");
    await c.insertOne({ _id: 100 as never });
    node = await startTestNode(cluster, [stream]);
    await eventually(async () => (await published(jsm)).length >= 57, 30_000, "the change made while stopped");
    await new Promise((r) => setTimeout(r, 500));
    events = await published(jsm);
    expect(events.map((e) => e.key._id).slice(50)).toEqual([50, 51, 52, 53, 54, 0, 100]);

    // stopped beyond the oplog window
    await node.shutdown("restart");
    await c.insertOne({ _id: 101 as never });
    await c.deleteOne({ _id: 1 as never });
    rig.fake.truncateHistory();
    node = await startTestNode(cluster, [stream]);
    await eventually(() => actor()?.lastError, 30_000, "the reader's error");
    expect(actor()!.lastError).toMatch(new RegExp(`stream ${S}: .*ChangeStreamHistoryLost, 286.*POST /v1/streams/${S}/snapshot`));
    expect(actor()!.state).toBe("running.failed"); // not retryable as is

    const tail = events.at(-1)!.pos;
    const r = await node.admin.inject({ method: "POST", url: `/v1/streams/${S}/snapshot` });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ id: S, snapshot: "requested", previousPosition: { v: 1, epoch: 1 } });
    const docs = await c.countDocuments();
    await eventually(async () => (await published(jsm)).length >= 57 + docs, 60_000, "a new snapshot");
    await eventually(() => actor()?.ready, 30_000, "the reader running again");
    await c.insertOne({ _id: 102 as never });
    await eventually(async () => (await published(jsm)).some((e) => e.key._id === 102), 30_000, "a change after the re-snapshot");
    const after = (await published(jsm)).slice(57);
    expect(after.filter((e) => e.op === "r").map((e) => e.key._id)).toEqual([0, ...Array.from({ length: 53 }, (_, i) => i + 2), 100, 101]);
    expect(after.every((e) => e.pos > tail && e.pos.startsWith("00000002:"))).toBe(true);
  }, 180_000);
});
