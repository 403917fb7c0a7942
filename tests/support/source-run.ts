/**
 * Driving a source connector without the kernel, for any connector's tests (Cosmos DB,
 * MongoDB…): the deps it is built with outside a node (silent logger, the caller's metrics),
 * a loop that pulls its batches like the kernel would (without publishing), and metric
 * readings.
 */
import { pino } from "pino";
import type { SourceBatch, SourceConnector, SourceDeps } from "../../src/core/index.js";
import type { Metrics } from "../../src/metrics/index.js";

/** Deps of a source built outside a node (no kernel), counting into `metrics`. */
export function sourceDeps(metrics: Metrics, stream = "s1"): SourceDeps {
  return {
    stream: { id: stream, maxAge: 60_000 },
    settings: { cluster: "test", replicas: 1, checkpoint: { interval: 1000, maxEvents: 1000 } },
    log: pino({ level: process.env.TEST_LOG ?? "silent" }),
    metrics,
  };
}

/** Sum of the samples of a metric matching `labels` (0 when absent), e.g. `metricValue(m, "tributary_cosmos_throttled_total", { container: "c" })`. */
export async function metricValue(metrics: Metrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = await metrics.registry.getSingleMetric(name)?.get();
  let sum = 0;
  for (const v of m?.values ?? []) {
    if (Object.entries(labels).every(([k, x]) => String(v.labels[k]) === x)) sum += v.value;
  }
  return sum;
}

/** An event as a test looks at it. */
export type SeenEvent = Record<string, unknown> & {
  op: string;
  key: Record<string, unknown>;
  after: Record<string, unknown> | null;
  before: Record<string, unknown> | null;
  source: Record<string, unknown>;
  types?: Record<string, string>;
  update?: { updated: Record<string, unknown>; removed: string[]; truncated?: Array<{ field: string; newSize: number }> };
};

/** Reads a source's batches in the background until `stop()`. */
export interface SourceRun<P> {
  batches: Array<SourceBatch<P>>;
  /** every change of every batch so far, as events */
  events(): SeenEvent[];
  /** the newest position yielded */
  position(): P | undefined;
  /** resolves when the source's iteration ended: with its error, or undefined */
  done: Promise<unknown>;
  ready: Promise<void>;
  stop(): Promise<unknown>;
}

/** Drives `source.read` like the kernel would (without publishing) from `checkpoint` / `tail`. */
export function runSource<P>(source: SourceConnector<P>, checkpoint: P | null = null, tail: string | null = null): SourceRun<P> {
  const ac = new AbortController();
  const batches: Array<SourceBatch<P>> = [];
  let markReady!: () => void;
  const ready = new Promise<void>((r) => (markReady = r));
  const done = (async () => {
    try {
      for await (const b of source.read({ checkpoint, tail, signal: ac.signal, ready: markReady, settled: () => true })) {
        batches.push(b);
        if (ac.signal.aborted) break;
      }
      return undefined;
    } catch (err) {
      return err;
    } finally {
      await source.close();
    }
  })();
  return {
    batches,
    events: () => batches.flatMap((b) => b.changes.map((c) => c.event as unknown as SeenEvent)),
    position: () => [...batches].reverse().find((b) => b.position !== undefined)?.position,
    done,
    ready,
    async stop() {
      ac.abort();
      return done;
    },
  };
}
