/**
 * A private nats-server with JetStream on a free loopback port, for tests that need other
 * settings than the machine's shared server (e.g. max_payload 8MB, as nats/single.conf
 * sets, for events above the default 1 MB). Stopped and its store removed afterwards. One
 * implementation of private servers: this is a NatsServerProc with that config.
 */
import { startNatsServer } from "./nats-server-proc.js";

export interface PrivateNats {
  url: string;
  stop(): Promise<void>;
}

/** Starts nats-server with JetStream and `max_payload: 8MB`; resolves once it is ready. */
export async function startPrivateNats(): Promise<PrivateNats> {
  const s = await startNatsServer({ config: ["max_payload: 8MB", "jetstream {", '  store_dir: "store"', "  max_memory_store: 256MB", "  max_file_store: 4GB", "}", ""].join("\n") });
  return { url: s.url(), stop: () => s.stop() };
}
