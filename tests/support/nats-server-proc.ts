/**
 * nats-server processes of a test's own, started from a config file (the shipped ones in
 * nats/, or text the test writes) with the port and store directory moved to free places.
 * They can be killed and started again on the same port and store (an outage), frozen and
 * thawed (SIGSTOP/SIGCONT: a hang), and are always removed by `stop()`. The machine's shared server is never touched.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./node-proc.js";

/** How to start a server. */
export interface NatsServerOptions {
  /** a config file to run (e.g. nats/tls.conf); run as a copy whose `store_dir` is the server's own directory */
  configFile?: string;
  /** config text to write to a file in the server's directory and run */
  config?: string;
  /** environment for `$VAR` references in the config file */
  env?: Record<string, string>;
  /** more command-line arguments (e.g. --user, --pass) */
  args?: string[];
  /** files to put beside the config (e.g. an included operator-resolver.conf), by name */
  files?: Record<string, string>;
}

/** A running (or stopped) private nats-server. */
export class NatsServerProc {
  readonly dir = mkdtempSync(join(tmpdir(), "tributary-natsd-"));
  port = 0;
  log = "";
  private proc?: ChildProcess;

  constructor(private readonly o: NatsServerOptions) {}

  /** nats://127.0.0.1:<port> (or another scheme, e.g. tls) */
  url(scheme = "nats"): string {
    return `${scheme}://127.0.0.1:${this.port}`;
  }

  /** Starts (again, on the same port and store); resolves when the server says it is ready. */
  async start(): Promise<void> {
    this.port ||= await freePort();
    const store = join(this.dir, "store");
    const text = this.o.config ?? (this.o.configFile ? readFileSync(this.o.configFile, "utf8") : undefined);
    let file: string | undefined;
    if (text !== undefined) {
      // the store moves by rewriting the file (nats-server refuses -sd beside a store_dir)
      file = join(this.dir, "server.conf");
      writeFileSync(file, text.replace(/^(\s*)store_dir:.*$/m, `$1store_dir: "${store}"`));
    }
    for (const [name, content] of Object.entries(this.o.files ?? {})) writeFileSync(join(this.dir, name), content);
    const args = [...(file ? ["-c", file] : ["-js", "-sd", store]), "-a", "127.0.0.1", "-p", String(this.port), ...(this.o.args ?? [])];
    const p = spawn("nats-server", args, { env: { ...process.env, ...this.o.env }, stdio: ["ignore", "pipe", "pipe"] });
    this.proc = p;
    const ready = new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer) => {
        this.log = (this.log + d.toString()).slice(-50_000);
        if (this.log.includes("Server is ready")) resolve();
      };
      p.stdout!.on("data", onData);
      p.stderr!.on("data", onData);
      p.once("exit", (code) => reject(new Error(`nats-server exited (${code}): ${this.log.slice(-2000)}`)));
    });
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`nats-server not ready after 15 s: ${this.log.slice(-2000)}`)), 15_000).unref());
    await Promise.race([ready, timeout]);
  }

  /** kill -9 (an outage); `start()` brings it back on the same port and store. */
  async kill9(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once("exit", r));
    p.kill("SIGKILL");
    await exited;
    this.log = "";
  }

  /** SIGSTOP: the server hangs (a GC pause, a stalled VM) with every connection open. */
  freeze(): void {
    this.proc?.kill("SIGSTOP");
  }

  /** SIGCONT: a frozen server carries on where it stopped. */
  thaw(): void {
    this.proc?.kill("SIGCONT");
  }

  /** Kills the server and removes its directory. */
  async stop(): Promise<void> {
    await this.kill9();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Starts a private server (see NatsServerProc). */
export async function startNatsServer(o: NatsServerOptions = {}): Promise<NatsServerProc> {
  const s = new NatsServerProc(o);
  await s.start();
  return s;
}
