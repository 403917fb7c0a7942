/**
 * Runs a real `tributary node` process (dist/src/cli/main.js) for a benchmark scenario:
 * writes its config, starts it (optionally under `--cpu-prof`), waits until every actor
 * is ready, reads its CPU time and memory from /proc, and stops it with SIGTERM (a
 * graceful drain, which also makes Node write the CPU profile).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync, existsSync, readdirSync, createWriteStream } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createServer } from "node:net";
import { stringify } from "yaml";
import { cpuSeconds, memoryMb, sleep } from "./services.js";

export const CLI = resolve("dist/src/cli/main.js");

/** A port the OS says is free right now. */
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

export interface NodeProcOptions {
  /** the node's config document (admin.port is filled in) */
  config: Record<string, unknown>;
  /** directory for a CPU profile; none when undefined */
  cpuProfDir?: string;
}

export class BenchNode {
  private proc?: ChildProcess;
  private output = "";
  port = 0;
  readonly dir = mkdtempSync(join(tmpdir(), "tributary-bench-"));

  constructor(private readonly o: NodeProcOptions) {}

  get pid(): number {
    return this.proc?.pid ?? -1;
  }

  get running(): boolean {
    return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Last lines the node printed (for error messages). */
  tail(chars = 3000): string {
    return this.output.slice(-chars);
  }

  async start(): Promise<void> {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm run bench does)`);
    this.port = await freePort();
    const admin = { ...((this.o.config.admin as object) ?? {}), host: "127.0.0.1", port: this.port };
    const file = join(this.dir, "config.yaml");
    writeFileSync(file, stringify({ ...this.o.config, admin }));
    const prof = this.o.cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${this.o.cpuProfDir}`] : [];
    // BENCH_NODE_ARGS: extra node flags for experiments (e.g. --trace-gc); output goes to node.log
    const extra = (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean);
    const p = spawn(process.execPath, [...prof, ...extra, CLI, "node", "--config", file], { stdio: ["ignore", "pipe", "pipe"], env: process.env });
    const logFile = createWriteStream(join(this.dir, "node.log"));
    const keep = (d: Buffer) => {
      logFile.write(d);
      this.output = (this.output + d.toString()).slice(-100_000);
    };
    p.once("exit", () => logFile.end());
    p.stdout!.on("data", keep);
    p.stderr!.on("data", keep);
    this.proc = p;
  }

  async json<T>(path: string): Promise<T> {
    const r = await fetch(`http://127.0.0.1:${this.port}${path}`);
    return (await r.json()) as T;
  }

  /** Waits until the node lists `actors` actors (or more) and every one is ready. */
  async waitReady(actors: number, timeoutMs = 120_000): Promise<void> {
    const t0 = performance.now();
    let last = "";
    while (performance.now() - t0 < timeoutMs) {
      if (!this.running) throw new Error(`bench: node exited during start:\n${this.tail()}`);
      try {
        const a = await this.json<{ actors: Array<{ id: string; ready: boolean; lastError: string | null }> }>("/v1/actors");
        const ready = a.actors.filter((x) => x.ready).length;
        last = `${ready}/${a.actors.length} ready; ${a.actors.find((x) => x.lastError)?.lastError ?? ""}`;
        if (a.actors.length >= actors && ready === a.actors.length) return;
      } catch {
        /* not listening yet */
      }
      await sleep(100);
    }
    throw new Error(`bench: node not ready after ${timeoutMs} ms (${last}):\n${this.tail()}`);
  }

  cpuSeconds(): number {
    return cpuSeconds(this.pid);
  }

  memoryMb(): { rss: number; hwm: number } {
    return memoryMb(this.pid);
  }

  /** SIGTERM (graceful drain) and wait for exit; SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 60_000): Promise<void> {
    if (!this.running) return;
    const p = this.proc!;
    const exited = new Promise((r) => p.once("exit", r));
    p.kill("SIGTERM");
    const t = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    await exited;
    clearTimeout(t);
  }

  /**
   * The CPU profiles the node wrote on exit, if profiling was on: the main thread's and
   * any worker thread's (transform threads), by thread id (file CPU.<date>.<time>.<pid>.<tid>.<n>.cpuprofile).
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
