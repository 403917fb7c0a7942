/**
 * The test network guard (net-guard.mjs) for node processes under test: the environment
 * that preloads it, and what it refused.
 */
import { existsSync, readFileSync } from "node:fs";

/** Where the guard writes refusals and the env a child needs to run with it. */
export interface NetGuard {
  /** env for the child: NODE_OPTIONS=--import <guard> and the log file */
  env: Record<string, string>;
  /** every connection the guard refused so far */
  refused(): Array<{ pid: number; host: string; port: number }>;
  /** the processes the guard was loaded into */
  loaded(): number[];
}

/** A guard logging to `logFile` (created empty on first refusal). */
export function netGuard(logFile: string): NetGuard {
  const guard = new URL("./net-guard.mjs", import.meta.url).href;
  const lines = () => (existsSync(logFile) ? readFileSync(logFile, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as { pid: number; host?: string; port?: number; loaded?: true }) : []);
  return {
    env: { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --import ${guard}`.trim(), TRIBUTARY_NET_GUARD_LOG: logFile },
    refused: () => lines().filter((l) => !l.loaded).map((l) => ({ pid: l.pid, host: String(l.host), port: Number(l.port) })),
    loaded: () => lines().filter((l) => l.loaded).map((l) => l.pid),
  };
}
