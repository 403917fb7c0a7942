/**
 * NATS for tests and benchmarks: the server URL, connections, what a cluster keeps in KV,
 * a stream's state, and the clean-up of everything a (test) cluster created. Tributary's
 * own code is loaded only when a clean-up runs.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";

/** The shared NATS server (NATS_URL overrides). */
export const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";

/** A plain client connection. */
export function natsConnect(servers: string | string[] = NATS_URL): Promise<NatsConnection> {
  return connect({ servers, name: "tributary-test-support" });
}

/** Deletes the JetStream streams and KV buckets of a (non-default) cluster. */
export async function cleanupCluster(cluster: string, servers: string | string[] = NATS_URL): Promise<void> {
  const { deleteClusterStreams } = await import("../../src/nats/index.js");
  const nc = await natsConnect(servers);
  try {
    await deleteClusterStreams(nc, cluster);
  } finally {
    await nc.close();
  }
}

/**
 * What a cluster keeps in NATS KV: the keys of its leases bucket (empty once every lease is
 * released) and the stored position record of one stream (undefined when none).
 */
export async function leasesAndPosition<T>(cluster: string, stream: string): Promise<{ leases: string[]; position: T | undefined }> {
  const nc = await natsConnect();
  try {
    const kvm = new Kvm(nc);
    const leases: string[] = [];
    for await (const k of await (await kvm.open(`${cluster}_leases`)).keys()) leases.push(k);
    const entry = await (await kvm.open(`${cluster}_positions`)).get(stream);
    return { leases, position: entry?.json<T>() };
  } finally {
    await nc.close();
  }
}

/** Message count, last sequence and first/last message times of a JetStream stream (null when missing). */
export async function streamState(nc: NatsConnection, name: string): Promise<{ messages: number; lastSeq: number; firstTs: number; lastTs: number } | null> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(name).catch(() => null);
  if (!info) return null;
  const s = info.state;
  return { messages: s.messages, lastSeq: s.last_seq, firstTs: Date.parse(s.first_ts), lastTs: Date.parse(s.last_ts) };
}
