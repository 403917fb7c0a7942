// Against the machine's nats-server: what the publishers write, the StreamReader reads back
// with the same epoch and headers (the epoch is read from the raw header bytes).
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
import { EventPublisher } from "./event-publisher.js";
import { StreamReader } from "./stream-consumer.js";
import { ensureJetStream, deleteJetStream } from "../nats/index.js";
import type { ChangeEvent } from "../events/index.js";

let nc: NatsConnection;
const stream = `T_SC_${process.pid}_${Date.now()}`;
const subj = `tsc${process.pid}${Date.now()}`;

beforeAll(async () => {
  nc = await connect({ servers: "nats://127.0.0.1:4222" });
  await ensureJetStream(nc, { name: stream, subjects: [`${subj}.>`], maxAgeMs: 60_000, replicas: 1 });
});
afterAll(async () => {
  await deleteJetStream(nc, stream);
  await nc.close();
});

const event = (i: number): ChangeEvent => ({
  op: "c",
  before: null,
  after: { id: i, name: "ü\nx" },
  key: { id: i },
  source: { connector: "test", stream: "s", db: "d", schema: "public", table: "t", pos: String(i).padStart(4, "0"), txId: 1, ts_ms: 1, snapshot: false },
  ts_ms: 2,
});

describe("StreamReader", () => {
  it("reads the epoch and headers the publishers wrote, and drops a stale writer's events", async () => {
    const pub = new EventPublisher(nc, { stream, idPrefix: "s", epoch: 12 });
    await pub.start();
    for (let i = 1; i <= 300; i++) await pub.publishChange(`${subj}.a`, { op: "c", schema: "public", table: "t", pos: String(i).padStart(4, "0"), event: event(i), headers: { "Tributary-Source-Seq": String(i) } });
    await pub.drain();
    pub.close();
    // a stale owner (lower epoch) and a message without headers
    const h = headers();
    h.set("Tributary-Epoch", "11");
    nc.publish(`${subj}.a`, new TextEncoder().encode("{}"), { headers: h });
    nc.publish(`${subj}.a`, new TextEncoder().encode("{}"));
    await nc.flush();

    const r = new StreamReader(nc, { stream, filter: `${subj}.>`, fromSeq: 1, buffer: 64 });
    await r.open();
    const got = [];
    while (got.length < 301) {
      const b = await r.batch(100, 50, 2000);
      if (b.length === 0) break;
      got.push(...b);
    }
    await r.close();
    expect(got.slice(0, 300).every((m) => m.epoch === 12)).toBe(true);
    expect(got[0]!.headers).toMatchObject({ "Nats-Msg-Id": "s:0001", "Tributary-Epoch": "12", "Tributary-Pos": "0001", "Tributary-Op": "c", "Tributary-Table": "public.t", "Tributary-Key": '{"id":1}', "Tributary-Source-Seq": "1", "Nats-Expected-Last-Sequence": "0" });
    expect(JSON.parse(new TextDecoder().decode(got[299]!.data))).toEqual(event(300));
    expect(r.staleDropped).toBe(2); // epoch 11, and the header-less message (epoch 0)
    expect(got).toHaveLength(300);
  });
});
