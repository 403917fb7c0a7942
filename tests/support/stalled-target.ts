/**
 * A target that is down in the way that keeps an actor stuck: a TCP port that accepts
 * connections and never answers (a database host that hangs), so a sink's connect waits
 * forever. `reset()` drops the connections it holds (the connect fails, the actor retries
 * and hangs again on its next connect). For tests of actors that must stop when told.
 */
import { createServer, type Socket } from "node:net";

/** A running stalled target (see the module comment). */
export interface StalledTarget {
  port: number;
  /** connections accepted so far */
  accepted(): number;
  /** connections open now */
  open(): number;
  /** drops every open connection (the peer sees a reset) */
  reset(): void;
  close(): Promise<void>;
}

/** Starts a stalled target on a free loopback port. */
export async function startStalledTarget(): Promise<StalledTarget> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((s) => {
    accepted++;
    sockets.add(s);
    s.on("error", () => undefined);
    s.on("close", () => sockets.delete(s));
    // read and drop whatever the client says; never answer
    s.resume();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const reset = () => {
    for (const s of sockets) s.resetAndDestroy();
    sockets.clear();
  };
  return {
    port: (server.address() as { port: number }).port,
    accepted: () => accepted,
    open: () => sockets.size,
    reset,
    close: () => {
      reset();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}
