/**
 * The built CLI (`dist/src/cli/main.js`, built by `npm test` and `npm run bench`) as tests
 * and benchmarks run it: a real process, its exit code and what it printed.
 */
import { spawn, type ChildProcessByStdio } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { Readable } from "node:stream";

/** Path of the built CLI entry point. */
export const CLI = resolve("dist/src/cli/main.js");

/** @throws Error naming the way out when the CLI has not been built. */
export function assertBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build (npm test and npm run bench do)`);
}

/** How a CLI process is started. */
export interface SpawnCliOptions {
  /** added to this process's environment */
  env?: Record<string, string>;
  /** flags for node itself, before the script (e.g. --cpu-prof) */
  nodeFlags?: string[];
}

/** Starts `tributary <args>` with its output piped (no stdin). */
export function spawnCli(args: string[], o: SpawnCliOptions = {}): ChildProcessByStdio<null, Readable, Readable> {
  assertBuilt();
  return spawn(process.execPath, [...(o.nodeFlags ?? []), CLI, ...args], {
    env: { ...process.env, ...o.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** What a finished CLI run gave back. */
export interface CliRun {
  /** exit code; null when it was killed (see `timedOut`) */
  code: number | null;
  stdout: string;
  stderr: string;
  /** killed after the time limit instead of exiting by itself */
  timedOut: boolean;
}

/**
 * Runs `tributary <args>` to completion and captures its exit code, stdout and stderr;
 * kills it (SIGKILL) after `timeoutMs`.
 * @param timeoutMs @default 20000
 */
export function runCli(args: string[], timeoutMs = 20_000, o: SpawnCliOptions = {}): Promise<CliRun> {
  return new Promise((done, fail) => {
    const p = spawnCli(args, o);
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      p.kill("SIGKILL");
    }, timeoutMs);
    p.on("error", fail);
    p.on("close", (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr, timedOut });
    });
  });
}
