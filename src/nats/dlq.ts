/**
 * Dead-letter queue: a poison event is published (and acked) to `dlq.<stream>.<actor>`
 * with the error, a short reason, where it came from (the original subject and sequence of
 * a consumed message, or the source position of a change that never reached JetStream) and
 * headers, and the original payload (or, for an oversized change, a summary), before the
 * actor moves past it — so nothing is lost (docs/operations.md, "Poison messages in the
 * DLQ").
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { buildHeaders } from "./chain-publisher.js";
import type { Names } from "./names.js";
import { ensureJetStream } from "./data-plane.js";

/**
 * Why an event was dead-lettered (the Tributary-Reason header): `transform` an evaluation
 * error or a result that is not an event, `limit` a transformer's time or depth limit,
 * `oversized` larger than the NATS max_payload, `malformed` a sink input it cannot apply
 * (e.g. an upsert without `after`), `unreadable` not JSON, `refused` the target refused it.
 */
export type DeadLetterReason = "transform" | "limit" | "oversized" | "malformed" | "unreadable" | "refused";

/** One poison event and why it could not be handled. */
export interface DeadLetter {
  stream: string;
  actor: string;
  error: string;
  reason: DeadLetterReason;
  /** the subject it was read from, or would have been published to */
  subject: string;
  /** its JetStream sequence, when it was read from a stream */
  seq?: number;
  /** its source position (Tributary-Pos), when it never reached a stream */
  pos?: string;
  headers: Record<string, string>;
  data: Uint8Array;
}

/** Creates the DLQ JetStream stream (idempotent). */
export function ensureDlq(nc: NatsConnection, names: Names, replicas: number): Promise<void> {
  return ensureJetStream(nc, { name: names.dlqStream, subjects: [names.dlqFilter], maxAgeMs: 30 * 86_400_000, replicas });
}

/** Publishes one dead letter and waits for the JetStream ack. */
export async function sendToDlq(nc: NatsConnection, names: Names, d: DeadLetter): Promise<void> {
  const js = jetstream(nc);
  const h: Record<string, string> = {};
  for (const [k, v] of Object.entries(d.headers)) if (!k.startsWith("Nats-")) h[`Tributary-Orig-${k}`] = v;
  h["Tributary-Error"] = d.error.replace(/[\r\n]+/g, " ").slice(0, 4000);
  h["Tributary-Reason"] = d.reason;
  h["Tributary-Original-Subject"] = d.subject;
  if (d.seq !== undefined) h["Tributary-Original-Seq"] = String(d.seq);
  if (d.pos !== undefined) h["Tributary-Original-Pos"] = d.pos;
  h["Tributary-Actor"] = d.actor;
  // a replay after a restart publishes the same id: JetStream's duplicate window drops it
  const id = d.seq !== undefined ? String(d.seq) : `pos:${d.pos}`;
  let data = d.data;
  // an input just under max_payload plus the dead letter's headers would be refused, and the
  // actor would retry it forever: such a dead letter goes without its payload, saying so
  const limit = nc.info?.max_payload;
  if (limit !== undefined && data.length + 8192 > limit) {
    let size = data.length + 64 + id.length + d.stream.length + d.actor.length; // framing and Nats-Msg-Id
    for (const k in h) size += Buffer.byteLength(`${k}: ${h[k]}\r\n`);
    if (size > limit) {
      h["Tributary-Data-Omitted"] = `${data.length} bytes: with the dead letter's headers over the NATS max_payload of ${limit} bytes`;
      data = new Uint8Array(0);
    }
  }
  await js.publish(names.dlqSubject(d.stream, d.actor), data, { headers: buildHeaders(h), msgID: `dlq:${d.stream}:${d.actor}:${id}` });
}
