/**
 * Runs real `tributary node` processes (the built CLI) for integration tests, so crashes
 * are real `kill -9`s of whole processes.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync, mkdtempSync, existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { stringify } from "yaml";
import { freePort } from "../../bench/node-proc.js";

export const CLI = resolve("dist/src/cli/main.js");

export function assertBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build (npm test does)`);
}

export function writeConfig(doc: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), "tributary-test-"));
  const file = join(dir, "config.yaml");
  writeFileSync(file, stringify(doc));
  return file;
}

// One way to pick ports for tests and benchmarks: ask the OS (a fixed scheme once collided: EADDRINUSE).
export { freePort };

export class NodeProc {
  proc?: ChildProcess;
  output = "";
  exits: Array<number | null> = [];
  constructor(readonly configFile: string, readonly port: number, readonly env: Record<string, string> = {}) {}

  get adminUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  start(extraArgs: string[] = []): void {
    const p = spawn(process.execPath, [CLI, "node", "--config", this.configFile, ...extraArgs], {
      env: { ...process.env, ...this.env, ADMIN_PORT: String(this.port) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    p.stdout!.on("data", (d) => (this.output = (this.output + d.toString()).slice(-200_000)));
    p.stderr!.on("data", (d) => (this.output = (this.output + d.toString()).slice(-200_000)));
    p.on("exit", (code) => this.exits.push(code));
    this.proc = p;
  }

  get running(): boolean {
    return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  async json<T = unknown>(path: string): Promise<T> {
    const r = await fetch(this.adminUrl + path);
    return (await r.json()) as T;
  }

  /** Waits until every actor of this node reports ready. */
  async waitReady(timeoutMs = 60_000): Promise<void> {
    const t0 = Date.now();
    let last = "";
    while (Date.now() - t0 < timeoutMs) {
      if (!this.running) throw new Error(`node exited: ${this.output.slice(-3000)}`);
      try {
        const r = await fetch(this.adminUrl + "/readyz");
        last = await r.text();
        const actors = await this.json<{ actors: Array<{ ready: boolean }> }>("/v1/actors");
        if (r.status === 200 && actors.actors.length > 0 && actors.actors.every((a) => a.ready)) return;
      } catch {
        /* not listening yet */
      }
      await new Promise((res) => setTimeout(res, 200));
    }
    throw new Error(`node not ready after ${timeoutMs} ms: ${last}\n${this.output.slice(-3000)}`);
  }

  async kill9(): Promise<void> {
    if (!this.running) return;
    const p = this.proc!;
    const exited = new Promise((r) => p.once("exit", r));
    p.kill("SIGKILL");
    await exited;
  }

  /** SIGTERM and wait for exit; returns the exit code. */
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
}

/** Starts a node on a free admin port with the config document `config(port)` builds. */
export async function startNodeProc(config: (port: number) => unknown, env: Record<string, string> = {}): Promise<NodeProc> {
  const port = await freePort();
  const node = new NodeProc(writeConfig(config(port)), port, env);
  node.start();
  return node;
}

/** Resident memory of a process (VmRSS) in MiB. */
export async function rssMb(pid: number): Promise<number> {
  const s = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(s)![1]) / 1024;
}

/** Resident memory of a process while it works: the reading at the start and the peak since. */
export interface RssSampler {
  readonly base: number;
  readonly peak: number;
  stop(): void;
}

/** Reads a process's resident memory now and then every `everyMs` until `stop()`. */
export async function sampleRss(pid: number, everyMs = 100): Promise<RssSampler> {
  const base = await rssMb(pid);
  let peak = base;
  const timer = setInterval(() => {
    rssMb(pid).then((v) => (peak = Math.max(peak, v)), () => undefined);
  }, everyMs);
  return { base, get peak() { return peak; }, stop: () => clearInterval(timer) };
}

/** Polls `check` until it returns null (converged) or the time is up; returns the last difference. */
export async function waitConverged(check: () => Promise<string | null>, timeoutMs: number, everyMs = 1000): Promise<string | null> {
  const t0 = Date.now();
  let last: string | null = "not checked";
  while (Date.now() - t0 < timeoutMs) {
    last = await check();
    if (last === null) return null;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return last;
}
