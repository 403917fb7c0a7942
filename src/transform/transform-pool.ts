/**
 * Transform threads shared by every transformer actor of a node (config `transform.threads`).
 * A transformer hands a batch of raw payloads to `run` and gets every event's outcome back,
 * in order; the thread does the JSON parsing and JSONata evaluation (transform-batch.ts), so
 * the node's main thread — which also runs readers, sinks and the NATS client — is free for
 * the rest. Small batches are cheaper to evaluate in place than to pass to a thread; the
 * caller decides (`worthIt`).
 *
 * Threads start on first use, so a node whose streams are idle spends no memory on them.
 * A thread that dies fails the batches it held (their actors restart from their checkpoints,
 * as after any error) and is replaced on the next call. A watchdog terminates a thread
 * whose current event runs far past its time limit (`RunawayEvaluation`, ADR 0011).
 */
import { Worker } from "node:worker_threads";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { TributaryError } from "../base/index.js";
import { DEFAULT_LIMITS, type EvalLimits } from "./jsonata-transformer.js";
import type { BatchOutcome } from "./transform-batch.js";
import type { ThreadRequest } from "./transform-thread.js";

interface Pending {
  name: string;
  limits: EvalLimits;
  resolve: (r: BatchOutcome) => void;
  reject: (e: Error) => void;
}

interface Thread {
  worker: Worker;
  pending: Map<number, Pending>;
  /** written by the thread before each event: [request id, event index, start (epoch ms; 0: idle)] */
  clock: Float64Array;
}

/**
 * A batch whose event `index` ran past its time limit without JSONata stopping it (a
 * blocking built-in): the watchdog terminated its thread. The caller dead-letters that
 * event and evaluates the rest again (ADR 0011).
 */
export class RunawayEvaluation extends TributaryError {
  constructor(readonly transformer: string, readonly index: number, readonly ms: number) {
    super("TRANSFORM_FAILED", `transformer ${transformer}: evaluation ran for over ${ms} ms without stopping at its time limit; its transform thread was terminated`);
  }
}

/** How long past its time limit an evaluation may run before the watchdog terminates its thread. */
export const watchdogMs = (limits: EvalLimits): number => limits.timeMs * 2 + 1000;

/**
 * The compiled thread script: next to this module, or — when this module runs from the
 * TypeScript sources (tests) — in the build output. null when neither exists.
 */
export function threadScript(): URL | null {
  const here = new URL("./transform-thread.js", import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  const built = fileURLToPath(import.meta.url).replace(/\/src\/transform\/transform-pool\.ts$/, "/dist/src/transform/transform-thread.js");
  return built.endsWith(".js") && existsSync(built) ? new URL(`file://${built}`) : null;
}

const YOUNG_MB = 8;

export class TransformPool {
  private readonly threads: Array<Thread | undefined>;
  private readonly script: URL | null;
  private nextId = 1;
  private closed = false;
  private watchdog: NodeJS.Timeout | undefined;

  /**
   * @param requested threads (0: every batch is evaluated by the caller)
   * @param minBatch smallest batch worth passing to a thread
   */
  constructor(private readonly requested: number, readonly minBatch = 16, script: URL | null = threadScript()) {
    this.script = requested > 0 ? script : null;
    this.threads = new Array(this.script ? requested : 0).fill(undefined);
  }

  /** True when a batch of `n` events should go to a thread. */
  worthIt(n: number): boolean {
    return this.available && n >= this.minBatch;
  }

  /** True when batches can go to a thread at all (a suspect transformer sends every batch there). */
  get available(): boolean {
    return this.threads.length > 0 && !this.closed;
  }

  /** Evaluates the transformer `name` (JSONata `expr`, within `limits` per event) over the payloads in a thread. */
  run(name: string, expr: string, datas: readonly Uint8Array[], limits: EvalLimits = DEFAULT_LIMITS): Promise<BatchOutcome> {
    if (this.closed) return Promise.reject(new TributaryError("TRANSFORM_FAILED", "the transform threads are closed"));
    const t = this.pick();
    let size = 0;
    for (const d of datas) size += d.length;
    const buf = new Uint8Array(size);
    const offs = new Uint32Array(datas.length + 1);
    let at = 0;
    for (let i = 0; i < datas.length; i++) {
      buf.set(datas[i]!, at);
      at += datas[i]!.length;
      offs[i + 1] = at;
    }
    const id = this.nextId++;
    const req: ThreadRequest = { id, name, expr, limits, buf, offs };
    return new Promise<BatchOutcome>((resolve, reject) => {
      t.pending.set(id, { name, limits, resolve, reject });
      t.worker.postMessage(req, [buf.buffer, offs.buffer]);
    });
  }

  /** Stops every thread; batches in flight fail. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.watchdog);
    await Promise.all(this.threads.map((t) => t?.worker.terminate()));
  }

  /** The least busy running thread; a new one only when every running thread is busy. */
  private pick(): Thread {
    let best: Thread | undefined;
    let free = -1;
    for (let i = 0; i < this.threads.length; i++) {
      const t = this.threads[i];
      if (!t) free = free < 0 ? i : free;
      else if (!best || t.pending.size < best.pending.size) best = t;
    }
    if (best && (best.pending.size === 0 || free < 0)) return best;
    return this.start(free);
  }

  /** Threads running now (started on demand, replaced after a failure). */
  get running(): number {
    return this.threads.filter(Boolean).length;
  }

  /** Batches handed to threads and not yet answered. */
  get pending(): number {
    let n = 0;
    for (const t of this.threads) n += t?.pending.size ?? 0;
    return n;
  }

  /** True when threads were asked for but the compiled thread script is missing (evaluation stays in place). */
  get scriptMissing(): boolean {
    return this.requested > 0 && this.script === null;
  }

  /** Stops thread `i` as a crash would (tests: a dead thread must cost no event). */
  async kill(i = 0): Promise<void> {
    await this.threads[i]?.worker.terminate();
  }

  /**
   * The last resort (ADR 0011): a thread whose current event has run well past its time
   * limit is blocked where JSONata cannot stop it; terminate it and tell that batch's
   * caller which event it was (the thread's other batches fail as after a crash).
   */
  private check(): void {
    const now = Date.now();
    for (let i = 0; i < this.threads.length; i++) {
      const t = this.threads[i];
      const started = t?.clock[2];
      if (!t || !started) continue;
      const id = t.clock[0]!;
      const p = t.pending.get(id);
      if (!p || now - started <= watchdogMs(p.limits)) continue;
      t.pending.delete(id);
      p.reject(new RunawayEvaluation(p.name, t.clock[1]!, now - started));
      // the next batch starts a new thread; the exit fails this one's other batches
      this.threads[i] = undefined;
      void t.worker.terminate();
    }
  }

  private start(i: number): Thread {
    // a small young generation: a batch's garbage is short-lived, and the node's memory
    // budget (docs/performance.md) is shared with the main thread
    const clock = new Float64Array(new SharedArrayBuffer(3 * Float64Array.BYTES_PER_ELEMENT));
    const worker = new Worker(this.script!, { name: `tributary-transform-${i}`, workerData: { clock }, resourceLimits: { maxYoungGenerationSizeMb: YOUNG_MB } });
    worker.unref();
    const t: Thread = { worker, pending: new Map(), clock };
    this.watchdog ??= setInterval(() => this.check(), 100).unref();
    const fail = (why: string) => {
      if (this.threads[i] === t) this.threads[i] = undefined;
      const err = new TributaryError("TRANSFORM_FAILED", `transform thread ${i} ${why}`);
      for (const p of t.pending.values()) p.reject(err);
      t.pending.clear();
    };
    worker.on("message", (m: { id: number; result?: BatchOutcome; error?: string }) => {
      const p = t.pending.get(m.id);
      if (!p) return;
      t.pending.delete(m.id);
      if (m.error !== undefined) p.reject(new TributaryError("TRANSFORM_FAILED", `transform thread ${i}: ${m.error}`));
      else p.resolve(m.result!);
    });
    worker.on("error", (err) => fail(`failed: ${err.message}`));
    worker.on("exit", (code) => fail(`exited (code ${code})`));
    this.threads[i] = t;
    return t;
  }
}
