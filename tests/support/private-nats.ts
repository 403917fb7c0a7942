/**
 * A private nats-server with JetStream on a free loopback port, for tests that need other
 * settings than the machine's shared server (e.g. max_payload 8MB, as nats/single.conf
 * sets, for events above the default 1 MB). Stopped and its store removed afterwards.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { freePort } from "./node-proc.js";

export interface PrivateNats {
  url: string;
  stop(): Promise<void>;
}

/** Starts nats-server with JetStream and `max_payload: 8MB`; resolves once a client connects. */
export async function startPrivateNats(): Promise<PrivateNats> {
  const dir = mkdtempSync(join(tmpdir(), "tributary-nats-"));
  const port = await freePort();
  const conf = join(dir, "nats.conf");
  writeFileSync(conf, [`listen: 127.0.0.1:${port}`, "max_payload: 8MB", `jetstream { store_dir: "${join(dir, "js")}", max_memory_store: 256MB, max_file_store: 4GB }`, ""].join("\n"));
  const proc: ChildProcess = spawn("nats-server", ["-c", conf], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  proc.stderr!.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  const url = `nats://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      const nc = await connect({ servers: url, reconnect: false });
      await nc.close();
      break;
    } catch {
      if (i > 100 || proc.exitCode !== null) throw new Error(`nats-server did not start: ${err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    async stop() {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once("exit", r));
        proc.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
