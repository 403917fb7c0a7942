/** NATS helpers for tests: unique cluster names and clean-up of everything a cluster created. */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Kvm } from "@nats-io/kv";
import { deleteClusterStreams } from "../../src/nats/index.js";

export const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";

export function uniqueCluster(prefix = "t"): string {
  return `${prefix}${process.pid}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 5)}`;
}

export async function natsConnect(servers: string | string[] = NATS_URL): Promise<NatsConnection> {
  return connect({ servers });
}

/** Deletes the JetStream streams and KV buckets of a (non-default) cluster. */
export async function cleanupCluster(cluster: string, servers: string | string[] = NATS_URL): Promise<void> {
  const nc = await connect({ servers });
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
