// Integration test against the machine's real nats-server: the chain publisher keeps the
// stream gap-free even when a foreign write breaks the expected sequence.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { ChainPublisher, buildHeaders } from "./chain-publisher.js";
import { ensureJetStream, deleteJetStream } from "./data-plane.js";

const enc = new TextEncoder();
let nc: NatsConnection;
const stream = `T_CHAIN_${process.pid}_${Date.now()}`;
const subj = `t${process.pid}${Date.now()}.chain`;

beforeAll(async () => {
  nc = await connect({ servers: "nats://127.0.0.1:4222" });
  await ensureJetStream(nc, { name: stream, subjects: [`${subj}.>`], maxAgeMs: 60_000, replicas: 1 });
});
afterAll(async () => {
  await deleteJetStream(nc, stream);
  await nc.close();
});

describe("ChainPublisher", () => {
  it("publishes 5000 messages pipelined, in order, each acked", async () => {
    const p = new ChainPublisher(nc, { stream, window: 256 });
    const tail = await p.start();
    expect(tail.lastSeq).toBe(0);
    for (let i = 0; i < 5000; i++) await p.publish(`${subj}.a`, enc.encode(String(i)), buildHeaders({ "Nats-Msg-Id": `m-${i}` }));
    await p.drain();
    expect(p.acked).toBe(5000);
    p.close();
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(stream);
    expect(info.state.messages).toBe(5000);
    const last = await jsm.streams.getMessage(stream, { seq: 5000 });
    expect(new TextDecoder().decode(last!.data)).toBe("4999");
  });

  it("refuses to append after a foreign write (a hole or a stale writer) and reports the tail on restart", async () => {
    const a = new ChainPublisher(nc, { stream, window: 64 });
    const tail = await a.start();
    expect(tail.lastSeq).toBe(5000);
    expect(tail.last?.header?.get("Nats-Msg-Id")).toBe("m-4999");
    await a.publish(`${subj}.a`, enc.encode("x"), buildHeaders({}));
    await a.drain();
    // a second writer (e.g. a stale owner) appends one message
    const b = new ChainPublisher(nc, { stream });
    await b.start();
    await b.publish(`${subj}.b`, enc.encode("stale"), buildHeaders({}));
    await b.drain();
    b.close();
    // a's next message expected last seq 5001 but the stream is at 5002: refused, and all after it
    await a.publish(`${subj}.a`, enc.encode("y"), buildHeaders({}));
    await expect(a.drain()).rejects.toThrow(/wrong last sequence/);
    await expect(a.publish(`${subj}.a`, enc.encode("z"), buildHeaders({}))).rejects.toThrow();
    a.close();
    const jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info(stream)).state.last_seq).toBe(5002);
  });

  it("offers messages without waiting while the window has room, and says when it is full", async () => {
    const p = new ChainPublisher(nc, { stream, window: 4 });
    const tail = await p.start();
    const at = (i: number) => p.offer(`${subj}.w`, enc.encode(String(i)), buildHeaders({}));
    expect([at(0), at(1), at(2), at(3)]).toEqual([0, 1, 2, 3]);
    expect(at(4)).toBe(-1); // 4 un-acked: the caller must wait (publish)
    await p.publish(`${subj}.w`, enc.encode("4"), buildHeaders({})); // waits for room
    await p.drain();
    expect(p.acked).toBe(5);
    p.close();
    const jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info(stream)).state.last_seq).toBe(tail.lastSeq + 5);
  });
});
