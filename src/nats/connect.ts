/** Opens the node's NATS connection from config (the one place that dials NATS). */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { TributaryError, redactUrl } from "../base/index.js";

/** How to reach NATS (the config's `nats` section). */
export interface NatsOptions {
  servers: readonly string[];
  user?: string;
  pass?: string;
  token?: string;
}

/** Connects with unlimited reconnects; fails fast (NATS_UNAVAILABLE naming the servers) if the first dial fails. */
export async function connectNats(cfg: NatsOptions, name: string): Promise<NatsConnection> {
  try {
    return await connect({
      servers: [...cfg.servers],
      name,
      user: cfg.user,
      pass: cfg.pass,
      token: cfg.token,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      timeout: 5000,
      pingInterval: 10_000,
    });
  } catch (err) {
    throw new TributaryError("NATS_UNAVAILABLE", `cannot connect to NATS at ${cfg.servers.map(redactUrl).join(", ")}: ${(err as Error).message}`, { cause: err });
  }
}
