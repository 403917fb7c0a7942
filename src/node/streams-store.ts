/**
 * The desired state: stream specs in the streams bucket. `applyStreams` makes the bucket
 * equal a list (removing a stream from the file and re-applying stops it); `watchStreams`
 * follows the bucket (watch + periodic full listing, since a watcher can miss entries
 * across reconnects).
 */
import type { KV } from "@nats-io/kv";
import type { Logger } from "pino";
import { parseStreamSpec, type StreamSpec } from "../config/index.js";

/** What `applyStreams` changed, by stream id. */
export interface ApplyResult {
  created: string[];
  updated: string[];
  deleted: string[];
  unchanged: string[];
}

/** Lists every stream spec in the bucket (invalid entries are logged and skipped). */
export async function listStreams(kv: KV, log?: Logger): Promise<StreamSpec[]> {
  const out: StreamSpec[] = [];
  for await (const key of await kv.keys()) {
    const e = await kv.get(key);
    if (!e || e.operation !== "PUT") continue;
    try {
      out.push(parseStreamSpec(e.json(), `stream ${key} in the streams bucket`));
    } catch (err) {
      log?.error({ err, stream: key }, "invalid stream spec in the bucket; ignored");
    }
  }
  return out;
}

/** Writes one spec (idempotent). */
export async function putStream(kv: KV, spec: StreamSpec): Promise<"created" | "updated" | "unchanged"> {
  const cur = await kv.get(spec.id);
  const json = JSON.stringify(spec);
  if (cur && cur.operation === "PUT" && cur.string() === json) return "unchanged";
  await kv.put(spec.id, json);
  return cur && cur.operation === "PUT" ? "updated" : "created";
}

/** Makes the bucket hold exactly `specs`. */
export async function applyStreams(kv: KV, specs: readonly StreamSpec[]): Promise<ApplyResult> {
  const r: ApplyResult = { created: [], updated: [], deleted: [], unchanged: [] };
  const want = new Set(specs.map((s) => s.id));
  for (const s of specs) r[await putStream(kv, s)].push(s.id);
  for await (const key of await kv.keys()) {
    if (want.has(key)) continue;
    const e = await kv.get(key);
    if (e && e.operation === "PUT") {
      await kv.delete(key);
      r.deleted.push(key);
    }
  }
  return r;
}

/** Calls `onChange(id, spec|null)` for every change; returns a stop function. */
export async function watchStreams(kv: KV, log: Logger, onChange: (id: string, spec: StreamSpec | null) => void, onFull: (specs: StreamSpec[]) => void, fullEveryMs = 30_000): Promise<() => void> {
  const w = await kv.watch();
  let stopped = false;
  (async () => {
    for await (const e of w) {
      if (e.operation !== "PUT") {
        onChange(e.key, null);
        continue;
      }
      try {
        onChange(e.key, parseStreamSpec(e.json(), `stream ${e.key} in the streams bucket`));
      } catch (err) {
        log.error({ err, stream: e.key }, "invalid stream spec in the bucket; ignored");
      }
    }
  })().catch((err) => !stopped && log.error({ err }, "streams watch ended"));
  const t = setInterval(() => {
    listStreams(kv, log).then(onFull, (err: unknown) => log.warn({ err }, "listing streams failed"));
  }, fullEveryMs);
  t.unref();
  return () => {
    stopped = true;
    clearInterval(t);
    w.stop();
  };
}
