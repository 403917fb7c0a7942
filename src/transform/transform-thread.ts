/**
 * A transform thread (worker_threads): evaluates transformer batches for the node's main
 * thread (transform-pool.ts), so JSON parsing and JSONata — the biggest share of a
 * transformer's CPU — run on another core. Stateless apart from compiled expressions.
 *
 * In:  { id, name, expr, limits, buf, offs }  (the batch's payloads back to back; offs has n+1 entries)
 * Out: { id, result } or { id, error }
 *
 * Before each event it writes (request id, index, start time) into the shared `clock`
 * (workerData), so the pool's watchdog can see an evaluation that JSONata's own limits
 * cannot stop (a blocking built-in such as a catastrophic regular expression) and
 * terminate the thread, naming the event (ADR 0011).
 */
import { parentPort, workerData } from "node:worker_threads";
import { compileTransformer, type CompiledTransformer, type EvalLimits } from "./jsonata-transformer.js";
import { transformBatch } from "./transform-batch.js";

export interface ThreadRequest {
  id: number;
  name: string;
  expr: string;
  limits: EvalLimits;
  buf: Uint8Array;
  offs: Uint32Array;
}

/** [request id, event index, evaluation start (epoch ms; 0: idle)], shared with the pool */
const clock = (workerData as { clock?: Float64Array } | null)?.clock;
const compiled = new Map<string, CompiledTransformer>();

parentPort?.on("message", (req: ThreadRequest) => {
  void (async () => {
    try {
      const k = `${req.name}\u0000${req.limits.timeMs}\u0000${req.limits.depth}\u0000${req.expr}`;
      let fn = compiled.get(k);
      if (!fn) compiled.set(k, (fn = compileTransformer(req.name, req.expr, req.limits)));
      const datas: Uint8Array[] = new Array(req.offs.length - 1);
      for (let i = 0; i < datas.length; i++) datas[i] = req.buf.subarray(req.offs[i]!, req.offs[i + 1]!);
      const tick = clock
        ? (i: number) => {
            clock[0] = req.id;
            clock[1] = i;
            clock[2] = Date.now();
          }
        : undefined;
      const result = await transformBatch(fn, datas, tick);
      if (clock) clock[2] = 0;
      parentPort!.postMessage({ id: req.id, result });
    } catch (err) {
      if (clock) clock[2] = 0;
      parentPort!.postMessage({ id: req.id, error: (err as Error).message ?? String(err) });
    }
  })();
});
