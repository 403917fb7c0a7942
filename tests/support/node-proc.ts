/**
 * Real `tributary node` processes (the built CLI) for integration tests and benchmarks, so
 * a crash is a real `kill -9` of a whole process: the config file with a free admin port,
 * start and restart, readiness through the admin API, CPU and memory from /proc, graceful
 * stop (SIGTERM), and the CPU profiles a node wrote under `--cpu-prof`.
 */
import type { ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, mkdtempSync, readdirSync, writeFileSync, type WriteStream } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { spawnCli } from "./cli.js";
import { eventually, GiveUp } from "./eventually.js";
import { cpuSeconds, memoryMb } from "./process-stats.js";

/** A port the OS says is free right now (one way to pick ports: a fixed scheme once collided). */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

/** How a node process is configured and started. */
export interface NodeProcOptions {
  /** the node's config document; `admin` is set to 127.0.0.1 and a free port */
  config: Record<string, unknown>;
  /** arguments after `node --config <file>`, e.g. `--no-apply` */
  args?: string[];
  /** added to the environment, e.g. NODE_OPTIONS */
  env?: Record<string, string>;
  /** flags for node itself (experiments such as --trace-gc) */
  nodeFlags?: string[];
  /** directory the node writes CPU profiles to on exit (`--cpu-prof`); none when undefined */
  cpuProfDir?: string;
  /** also write everything the node prints to `<dir>/node.log` @default false */
  keepLog?: boolean;
}

/** One `tributary node` process; `start()` again after an exit restarts it with the same config. */
export class NodeProc {
  private proc?: ChildProcess;
  private out = "";
  private log?: WriteStream;
  /** exit codes of every run so far (null: killed by a signal) */
  readonly exits: Array<number | null> = [];
  /** a directory of its own: config.yaml, node.log */
  readonly dir = mkdtempSync(join(tmpdir(), "tributary-node-"));
  readonly configFile = join(this.dir, "config.yaml");

  private constructor(readonly port: number, private readonly o: NodeProcOptions) {
    const admin = { ...((o.config.admin as object | undefined) ?? {}), host: "127.0.0.1", port };
    writeFileSync(this.configFile, stringify({ ...o.config, admin }));
  }

  /** Writes the config with a free admin port; the process is not started yet. */
  static async create(o: NodeProcOptions): Promise<NodeProc> {
    return new NodeProc(await freePort(), o);
  }

  /** http://127.0.0.1:<admin port> */
  get adminUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** pid of the current run (-1 before the first start) */
  get pid(): number {
    return this.proc?.pid ?? -1;
  }

  /** started and not exited */
  get running(): boolean {
    return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** The last ~200 kB the node printed (stdout and stderr, across restarts). */
  get output(): string {
    return this.out;
  }

  /** The last `chars` characters the node printed (for error messages). */
  tail(chars = 3000): string {
    return this.out.slice(-chars);
  }

  /** Starts the process (again, after an exit). */
  start(): void {
    if (this.running) throw new Error(`node on admin port ${this.port} is already running (pid ${this.pid})`);
    const prof = this.o.cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${this.o.cpuProfDir}`] : [];
    const p = spawnCli(["node", "--config", this.configFile, ...(this.o.args ?? [])], { env: this.o.env, nodeFlags: [...prof, ...(this.o.nodeFlags ?? [])] });
    if (this.o.keepLog) this.log ??= createWriteStream(join(this.dir, "node.log"), { flags: "a" });
    const keep = (d: Buffer) => {
      this.log?.write(d);
      this.out = (this.out + d.toString()).slice(-200_000);
    };
    p.stdout.on("data", keep);
    p.stderr.on("data", keep);
    p.on("exit", (code) => this.exits.push(code));
    this.proc = p;
  }

  /** GET an admin path and parse its JSON. */
  async json<T = unknown>(path: string): Promise<T> {
    const r = await fetch(this.adminUrl + path);
    return (await r.json()) as T;
  }

  /**
   * Waits until /readyz says ready and the node lists at least `actors` actors, every one
   * ready. Fails at once when the node exits.
   */
  async waitReady(o: { actors?: number; timeoutMs?: number } = {}): Promise<void> {
    const want = o.actors ?? 1;
    let last = "not asked yet";
    await eventually(
      async () => {
        if (!this.running) throw new GiveUp(`node exited (codes ${JSON.stringify(this.exits)}):\n${this.tail()}`);
        const r = await fetch(this.adminUrl + "/readyz");
        const a = await this.json<{ actors: Array<{ ready: boolean; lastError: string | null }> }>("/v1/actors");
        const ready = a.actors.filter((x) => x.ready).length;
        last = `readyz ${r.status}, ${ready}/${a.actors.length} actors ready; ${a.actors.find((x) => x.lastError)?.lastError ?? ""}`;
        return r.status === 200 && a.actors.length >= want && ready === a.actors.length;
      },
      o.timeoutMs ?? 60_000,
      `node on port ${this.port} to be ready`,
      100,
    ).catch((err: unknown) => {
      if (err instanceof GiveUp) throw err;
      throw new Error(`${(err as Error).message} (${last})\n${this.tail()}`);
    });
  }

  /** CPU seconds the current run has used (NaN once it exited). */
  cpuSeconds(): number {
    return cpuSeconds(this.pid);
  }

  /** Resident and peak resident memory of the current run in MiB (NaN once it exited). */
  memoryMb(): { rss: number; hwm: number } {
    return memoryMb(this.pid);
  }

  /** SIGKILL and wait for the exit (nothing when not running). */
  async kill9(): Promise<void> {
    if (!this.running) return;
    const p = this.proc!;
    const exited = new Promise((r) => p.once("exit", r));
    p.kill("SIGKILL");
    await exited;
  }

  /** SIGTERM (graceful drain) and wait for the exit, SIGKILL after `timeoutMs`; returns the exit code. */
  async term(timeoutMs = 60_000): Promise<number | null> {
    if (!this.running) return this.proc?.exitCode ?? null;
    const p = this.proc!;
    const exited = new Promise<number | null>((r) => p.once("exit", (c) => r(c)));
    p.kill("SIGTERM");
    const t = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    const code = await exited;
    clearTimeout(t);
    return code;
  }

  /**
   * The CPU profiles the current run wrote on exit (with `cpuProfDir`): the main thread's and
   * any worker thread's (transform threads), by thread id (CPU.<date>.<time>.<pid>.<tid>.<n>.cpuprofile).
   */
  profileFiles(): { main?: string; threads: string[] } {
    const dir = this.o.cpuProfDir;
    if (!dir || !existsSync(dir)) return { threads: [] };
    const mine = readdirSync(dir).filter((x) => x.endsWith(".cpuprofile") && x.includes(`.${this.pid}.`)).sort();
    const tid = (f: string) => Number(f.split(".").at(-3));
    const main = mine.find((f) => tid(f) === 0);
    return { main: main ? join(dir, main) : undefined, threads: mine.filter((f) => tid(f) !== 0).map((f) => join(dir, f)) };
  }
}

/** Creates a node process with a free admin port and starts it. */
export async function startNodeProc(o: NodeProcOptions): Promise<NodeProc> {
  const node = await NodeProc.create(o);
  node.start();
  return node;
}
