/** NATS helpers for tests: unique cluster names and clean-up of everything a cluster created. */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";

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
    const jsm = await jetstreamManager(nc);
    for await (const s of jsm.streams.list()) {
      const n = s.config.name;
      if (n.startsWith(`${cluster}_`) || n.startsWith(`KV_${cluster}_`)) await jsm.streams.delete(n).catch(() => undefined);
    }
  } finally {
    await nc.close();
  }
}
