/**
 * Dead-letter queue: a poison event is published (and acked) to `dlq.<stream>.<actor>`
 * with the error, the original subject, sequence and headers, and the original payload,
 * before the actor moves past it — so nothing is lost (docs/operations.md, "Poison messages
 * in the DLQ").
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { buildHeaders } from "./chain-publisher.js";
import type { Names } from "./names.js";
import { ensureJetStream } from "./data-plane.js";

/** One poison event and why it could not be handled. */
export interface DeadLetter {
  stream: string;
  actor: string;
  error: string;
  subject: string;
  seq: number;
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
  h["Tributary-Original-Subject"] = d.subject;
  h["Tributary-Original-Seq"] = String(d.seq);
  h["Tributary-Actor"] = d.actor;
  await js.publish(names.dlqSubject(d.stream, d.actor), d.data, { headers: buildHeaders(h), msgID: `dlq:${d.stream}:${d.actor}:${d.seq}` });
}
