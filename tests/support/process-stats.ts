/**
 * CPU time and memory of processes, read from /proc (Linux): what a node process or the
 * services cost while a test or a benchmark runs. Readings, never assertions on speed.
 */
import { readFileSync, readdirSync } from "node:fs";

const TICKS_PER_SECOND = 100; // getconf CLK_TCK on Linux

/** CPU seconds (user + system) a process has used; NaN when it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** VmRSS and VmHWM (peak RSS) of a process in MiB; NaN when it is gone. */
export function memoryMb(pid: number): { rss: number; hwm: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
    return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
  } catch {
    return { rss: Number.NaN, hwm: Number.NaN };
  }
}

/** Pids whose command name is exactly `comm` (e.g. nats-server, postgres). */
export function pidsOf(comm: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, "utf8").trim() === comm) out.push(Number(d));
    } catch {
      /* exited */
    }
  }
  return out;
}

/** Total CPU seconds of every process named `comm` (sums what is alive at the time). */
export function cpuSecondsOf(comm: string): number {
  return pidsOf(comm).reduce((s, p) => s + (Number.isFinite(cpuSeconds(p)) ? cpuSeconds(p) : 0), 0);
}

/** Whole-machine busy CPU seconds (all cores) from /proc/stat. */
export function machineBusySeconds(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (line[3] ?? 0) + (line[4] ?? 0);
  const total = line.reduce((a, b) => a + b, 0);
  return (total - idle) / TICKS_PER_SECOND;
}

/** Resident memory of a process while it works: the reading at the start and the peak since. */
export interface RssSampler {
  readonly base: number;
  readonly peak: number;
  stop(): void;
}

/** Reads a process's resident memory (MiB) now and then every `everyMs` until `stop()`. */
export function sampleRss(pid: number, everyMs = 100): RssSampler {
  const base = memoryMb(pid).rss;
  let peak = base;
  const timer = setInterval(() => {
    const rss = memoryMb(pid).rss;
    if (Number.isFinite(rss)) peak = Math.max(peak, rss);
  }, everyMs);
  return { base, get peak() { return peak; }, stop: () => clearInterval(timer) };
}
