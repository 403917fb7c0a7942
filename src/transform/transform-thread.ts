/**
 * A transform thread (worker_threads): evaluates transformer batches for the node's main
 * thread (transform-pool.ts), so JSON parsing and JSONata — the biggest share of a
 * transformer's CPU — run on another core. Stateless apart from compiled expressions.
 *
 * In:  { id, name, expr, buf, offs }  (the batch's payloads back to back; offs has n+1 entries)
 * Out: { id, result } or { id, error }
 */
import { parentPort } from "node:worker_threads";
import { compileTransformer, type CompiledTransformer } from "./jsonata-transformer.js";
import { transformBatch } from "./transform-batch.js";

export interface ThreadRequest {
  id: number;
  name: string;
  expr: string;
  buf: Uint8Array;
  offs: Uint32Array;
}

const compiled = new Map<string, CompiledTransformer>();

parentPort?.on("message", (req: ThreadRequest) => {
  void (async () => {
    try {
      const k = `${req.name}\u0000${req.expr}`;
      let fn = compiled.get(k);
      if (!fn) compiled.set(k, (fn = compileTransformer(req.name, req.expr)));
      const datas: Uint8Array[] = new Array(req.offs.length - 1);
      for (let i = 0; i < datas.length; i++) datas[i] = req.buf.subarray(req.offs[i]!, req.offs[i + 1]!);
      parentPort!.postMessage({ id: req.id, result: await transformBatch(fn, datas) });
    } catch (err) {
      parentPort!.postMessage({ id: req.id, error: (err as Error).message ?? String(err) });
    }
  })();
});
