/**
 * The `generator` source: synthetic rows at a configured rate, numbered 1, 2, 3 … so that
 * gaps and duplicates downstream are detectable. Row n has key id = n mod keys and carries
 * `seq = n`. Its position is the last n fully published.
 */
import type { GeneratorSourceSpec } from "../../config/index.js";
import type { ChangeEvent } from "../../events/change-event.js";
import { openReaderOutput } from "../../runtime/reader-output.js";
import type { WorkDeps } from "../../runtime/deps.js";
import type { Work, WorkControl } from "../../runtime/work.js";

export interface GeneratorPosition {
  n: number;
}

/** Fixed width so string order is numeric order. */
export const genPos = (n: number): string => String(n).padStart(16, "0");

export class GeneratorReader implements Work {
  private readonly src: GeneratorSourceSpec;
  constructor(private readonly d: WorkDeps) {
    this.src = d.spec.source as GeneratorSourceSpec;
  }

  async run(ctl: WorkControl): Promise<void> {
    const { d, src } = this;
    const names = d.cp.names;
    const { fenced, pub, tail, cpr } = await openReaderOutput<GeneratorPosition>(d, ctl);
    // resume after whatever the stream already holds: the stream is a gap-free prefix
    let n = Math.max(fenced.position?.n ?? 0, tail ? Number(tail) : 0);
    const [schema, table] = src.table.includes(".") ? (src.table.split(".", 2) as [string, string]) : ["gen", src.table];
    const subject = names.cdcSubject(d.spec.id, schema, table);
    ctl.ready();
    ctl.progress({ n });
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
    void ctl.stopping.then(wakeUp);
    ctl.signal.addEventListener("abort", wakeUp, { once: true });
    try {
      while (!ctl.isStopping()) {
        if (pub.chain.error) throw pub.chain.error;
        credit += perTick;
        while (credit >= 1 && !ctl.isStopping()) {
          credit -= 1;
          n++;
          const id = n % src.keys;
          const now = Date.now();
          const ev: ChangeEvent = {
            op: n <= src.keys ? "c" : "u",
            before: null,
            after: { id, seq: n, ts: new Date(now).toISOString(), payload: "x".repeat(32) },
            key: { id },
            source: { connector: "generator", stream: d.spec.id, db: "generator", schema, table, pos: genPos(n), txId: n, ts_ms: now, snapshot: false },
            ts_ms: now,
            types: { id: "int8", seq: "int8", ts: "timestamptz", payload: "text" },
          };
          await pub.publish(subject, ev, genPos(n));
          cpr.boundary(pub.count, { n });
        }
        await cpr.maybe(pub.acked);
        next += tick;
        if (ctl.isStopping()) break;
        await new Promise<void>((r) => {
          wake = r;
          timer = setTimeout(r, Math.max(0, next - performance.now()));
        });
        wake = undefined;
      }
      if (ctl.signal.aborted) return;
      await pub.drain();
      await cpr.maybe(pub.acked, true);
      d.probe("stop", cpr.committed);
    } finally {
      clearTimeout(timer);
      ctl.signal.removeEventListener("abort", wakeUp);
      pub.close();
    }
  }
}
