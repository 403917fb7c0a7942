/**
 * Evaluates a transformer over a batch of raw CDC event payloads and says, per event, what
 * goes on the wire: nothing (dropped by the expression), a dead letter (unreadable input or
 * an evaluation error, with the reason), or an output event already encoded (its subject
 * tokens, header values and JSON — or `json: null` when the output *is* the input object,
 * whose bytes are then published as they are).
 *
 * The same function runs on the node's main thread and in transform threads
 * (transform-thread.ts), so both give the same bytes; its result is plain data, cheap to
 * pass between threads.
 */
import type { CompiledTransformer } from "./jsonata-transformer.js";

export type Outcome =
  | { kind: "drop" }
  /** `reason` limit: the evaluation went over the transformer's time or depth limit */
  | { kind: "dead"; message: string; reason: "transform" | "limit" | "unreadable" }
  | {
      kind: "emit";
      /** subject tokens and the Tributary-Table header */
      schema: string;
      table: string;
      op: string;
      keyJson: string;
      /** the output's JSON; null: the input's bytes unchanged */
      json: string | null;
    };

export interface BatchOutcome {
  items: Outcome[];
  /** source.ts_ms of the last event that had one (for the lag gauge) */
  lastTs?: number;
}

const dec = new TextDecoder();

interface Envelope {
  op?: unknown;
  key?: unknown;
  source?: { schema?: unknown; table?: unknown; ts_ms?: unknown } | null;
  [k: string]: unknown;
}

/** The outcome of one input. */
async function transformOne(fn: CompiledTransformer, data: Uint8Array): Promise<{ outcome: Outcome; tsMs?: number }> {
  let ev: Envelope;
  try {
    ev = JSON.parse(dec.decode(data)) as Envelope;
  } catch (err) {
    return { outcome: { kind: "dead", reason: "unreadable", message: `unreadable event (not JSON): ${(err as Error).message}` } };
  }
  const tsMs = typeof ev?.source?.ts_ms === "number" ? ev.source.ts_ms : undefined;
  if (ev === null || typeof ev !== "object" || Array.isArray(ev)) return { outcome: { kind: "dead", reason: "unreadable", message: "unreadable event (not a JSON object)" }, tsMs };
  const r = await fn.apply(ev);
  if (r.kind === "error") return { outcome: { kind: "dead", reason: r.limit ? "limit" : "transform", message: r.message }, tsMs };
  if (r.kind === "drop") return { outcome: { kind: "drop" }, tsMs };
  const out = r.value as Envelope;
  // the input itself (identity, or a filter that let it through): its bytes are the output
  const same = out === ev;
  if (out.key === undefined) out.key = ev.key;
  if (out.source === undefined) out.source = ev.source;
  const src = out.source !== null && typeof out.source === "object" ? out.source : undefined;
  const schema = typeof src?.schema === "string" ? src.schema : String(ev.source?.schema);
  const table = typeof src?.table === "string" ? src.table : String(ev.source?.table);
  return {
    outcome: { kind: "emit", schema, table, op: String(out.op), keyJson: JSON.stringify(out.key) ?? "null", json: same ? null : JSON.stringify(out) },
    tsMs,
  };
}

/**
 * The outcome of every input, in order.
 * @param onEvent called before each input is evaluated (a transform thread's watchdog clock)
 */
export async function transformBatch(fn: CompiledTransformer, datas: readonly Uint8Array[], onEvent?: (i: number) => void): Promise<BatchOutcome> {
  const items: Outcome[] = new Array(datas.length);
  let lastTs: number | undefined;
  for (let i = 0; i < datas.length; i++) {
    onEvent?.(i);
    const r = await transformOne(fn, datas[i]!);
    items[i] = r.outcome;
    if (r.tsMs !== undefined) lastTs = r.tsMs;
  }
  return { items, lastTs };
}
