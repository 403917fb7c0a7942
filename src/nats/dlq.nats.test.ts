// Dead letters against the real NATS server: the headers that say what, why and where from;
// and an input so close to max_payload that the dead letter's own headers would push it over
// goes without its payload (saying so) instead of failing its actor forever.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { cleanupCluster, natsConnect, uniqueCluster } from "../../tests/support/index.js";
import { ensureDlq, sendToDlq } from "./dlq.js";
import { Names } from "./names.js";

const cluster = uniqueCluster("dlq");
const names = new Names(cluster);
let nc: NatsConnection;

beforeAll(async () => {
  nc = await natsConnect();
  await ensureDlq(nc, names, 1);
});
afterAll(async () => {
  await nc?.close();
  await cleanupCluster(cluster);
});

const last = async (actor: string) => (await jetstreamManager(nc)).streams.getMessage(names.dlqStream, { last_by_subj: names.dlqSubject("s", actor) });

describe("sendToDlq", () => {
  it("writes the reason, the error, the origin and the original headers", async () => {
    await sendToDlq(nc, names, { stream: "s", actor: "sink-a", error: "bad\r\nrow", reason: "malformed", subject: "x.cdc.s.public.t", seq: 7, headers: { "Tributary-Key": '{"id":1}', "Nats-Msg-Id": "m" }, data: Buffer.from("{}") });
    const m = await last("sink-a");
    expect(m?.header.get("Tributary-Reason")).toBe("malformed");
    expect(m?.header.get("Tributary-Error")).toBe("bad row");
    expect(m?.header.get("Tributary-Original-Seq")).toBe("7");
    expect(m?.header.get("Tributary-Original-Pos")).toBe("");
    expect(m?.header.get("Tributary-Orig-Tributary-Key")).toBe('{"id":1}');
    expect(m?.header.get("Tributary-Orig-Nats-Msg-Id")).toBe("");
    expect(m?.string()).toBe("{}");
  });

  it("omits a payload that would take the dead letter over max_payload, and says so", async () => {
    const limit = nc.info!.max_payload;
    const data = new Uint8Array(limit - 200).fill(120);
    await sendToDlq(nc, names, { stream: "s", actor: "transformer-t", error: "e".repeat(3000), reason: "transform", subject: "x.cdc.s.public.t", seq: 8, headers: {}, data });
    const m = await last("transformer-t");
    expect(m?.header.get("Tributary-Data-Omitted")).toBe(`${limit - 200} bytes: with the dead letter's headers over the NATS max_payload of ${limit} bytes`);
    expect(m?.data.length).toBe(0);
    expect(m?.header.get("Tributary-Original-Seq")).toBe("8");
  });
});
