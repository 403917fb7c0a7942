/**
 * The `generator` source: synthetic rows at a configured rate, numbered 1, 2, 3 … so that
 * gaps and duplicates downstream are detectable. Row n has key id = n mod keys and carries
 * `seq = n`. Its position is the last n of a batch: each tick's rows are one batch.
 */
import type { SourceBatch, SourceChange, SourceConnector, SourceContext, SourceDeps } from "../../core/index.js";
import type { GeneratorSourceSpec } from "./schema.js";

/** The generator's checkpoint: the last row number fully published. */
export interface GeneratorPosition {
  n: number;
}

/** Fixed width so string order is numeric order. */
const genPos = (n: number): string => String(n).padStart(16, "0");

const TYPES = { id: "int8", seq: "int8", ts: "timestamptz", payload: "text" };

/** The `stream` actor's source for a `type: generator` source. */
export class GeneratorSource implements SourceConnector<GeneratorPosition> {
  constructor(private readonly src: GeneratorSourceSpec, private readonly d: SourceDeps) {}

  async *read(ctx: SourceContext<GeneratorPosition>): AsyncGenerator<SourceBatch<GeneratorPosition>, void> {
    const { src } = this;
    const stream = this.d.stream.id;
    // resume after whatever the stream already holds: the stream is a gap-free prefix
    let n = Math.max(ctx.checkpoint?.n ?? 0, ctx.tail ? Number(ctx.tail) : 0);
    const [schema, table] = src.table.includes(".") ? (src.table.split(".", 2) as [string, string]) : ["gen", src.table];
    ctx.ready();
    // 50 ms ticks at 20 events/s and more; slower sources wake less often (an idle node with
    // many generator streams would otherwise spend its CPU on timers), at most 1 s apart
    const tick = Math.min(1000, Math.max(50, 1000 / src.rate));
    const perTick = src.rate * (tick / 1000);
    let credit = 0;
    let next = performance.now();
    // one wake-up path for the whole run (a listener or reaction per tick would pile up)
    let wake: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    const wakeUp = () => {
      clearTimeout(timer);
      wake?.();
    };
    ctx.signal.addEventListener("abort", wakeUp, { once: true });
    try {
      while (!ctx.signal.aborted) {
        credit += perTick;
        const changes: SourceChange[] = [];
        while (credit >= 1) {
          credit -= 1;
          n++;
          const id = n % src.keys;
          const now = Date.now();
          const pos = genPos(n);
          changes.push({
            schema,
            table,
            op: n <= src.keys ? "c" : "u",
            pos,
            event: {
              op: n <= src.keys ? "c" : "u",
              before: null,
              after: { id, seq: n, ts: new Date(now).toISOString(), payload: "x".repeat(32) },
              key: { id },
              source: { connector: "generator", stream, db: "generator", schema, table, pos, txId: n, ts_ms: now, snapshot: false },
              ts_ms: now,
              types: TYPES,
            },
          });
        }
        if (changes.length) yield { changes, position: { n } };
        next += tick;
        if (ctx.signal.aborted) break;
        await new Promise<void>((r) => {
          wake = r;
          timer = setTimeout(r, Math.max(0, next - performance.now()));
        });
        wake = undefined;
      }
    } finally {
      clearTimeout(timer);
      ctx.signal.removeEventListener("abort", wakeUp);
    }
  }

  async close(): Promise<void> {}
}
