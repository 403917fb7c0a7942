/**
 * The ceilings the reader is compared with, measured in the same run on the same data:
 *
 * - decode: raw `pg-logical-replication` (its own pgoutput plugin and parsers) catching up
 *   on a second slot over the same WAL, acknowledging once per transaction, publishing
 *   nothing;
 * - publish: raw hand-pipelined JetStream publishing (core publish with a reply subject,
 *   one ack subscription, a counted window of 1024) of the same event payloads, from this
 *   one Node process with the same client, with and without `Nats-Msg-Id`.
 */
import { LogicalReplicationService, PgoutputPlugin, type Pgoutput } from "pg-logical-replication";
import type pg from "pg";
import { createInbox, headers as natsHeaders, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { SESSION_OPTIONS, encodeEventPos, keyOf, makeEvent, shapeOf, toRow, type ColumnType } from "../src/connectors/postgres/index.js";
import { rowText } from "./workload.js";
import { cpuSecondsOf } from "../tests/support/index.js";

export interface DecodeCeiling {
  /** rows decoded per second (first change to last commit) */
  eps: number;
  /** CPU µs per row of this process (the library's decoding) and of all postgres processes (the walsender) */
  client_us: number;
  postgres_us: number;
}

/** Rows decoded per second by the raw library with no publishing, and its CPU per row. */
export async function decodeCeiling(url: string, slot: string, publication: string, expected: number, timeoutMs = 300_000): Promise<DecodeCeiling> {
  const service = new LogicalReplicationService(
    { connectionString: url, options: SESSION_OPTIONS } as pg.ClientConfig,
    { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: false } },
  );
  const plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: [publication] });
  let rows = 0;
  let t0 = 0;
  let t1 = 0;
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bench: decode ceiling saw ${rows}/${expected} rows in ${timeoutMs} ms`)), timeoutMs);
    service.on("data", (lsn: string, msg: Pgoutput.Message) => {
      if (msg.tag === "insert" || msg.tag === "update" || msg.tag === "delete") {
        if (rows++ === 0) t0 = performance.now();
      } else if (msg.tag === "commit") {
        void service.acknowledge(lsn);
        if (rows >= expected) {
          t1 = performance.now();
          clearTimeout(timer);
          resolve();
        }
      }
    });
    service.on("error", reject);
  });
  const c0 = process.cpuUsage();
  const pg0 = cpuSecondsOf("postgres");
  void service.subscribe(plugin, slot).catch(() => undefined);
  try {
    await done;
  } finally {
    await service.stop().catch(() => undefined);
    service.removeAllListeners();
  }
  const c1 = process.cpuUsage(c0);
  return { eps: rows / ((t1 - t0) / 1000), client_us: (c1.user + c1.system) / rows, postgres_us: ((cpuSecondsOf("postgres") - pg0) * 1e6) / rows };
}

const BENCH_TYPES: Record<string, string> = { id: "int8", account: "text", amount: "numeric", status: "text", note: "text", updated_at: "timestamptz" };

/** `n` event payloads exactly as the reader builds them for the benchmark table (JSON bytes). */
export function samplePayloads(n: number, stream: string): Uint8Array[] {
  const columns = Object.entries(BENCH_TYPES).map(([name, t]) => ({ name, type: { oid: 0, name: t } as ColumnType }));
  const shape = shapeOf("public", "bench_rows", columns, ["id"]);
  const enc = new TextEncoder();
  const out: Uint8Array[] = [];
  for (let i = 1; i <= n; i++) {
    const after = toRow(shape, rowText(i));
    const pos = encodeEventPos("0/16B3748", "t", i);
    const ev = makeEvent(shape, "c", null, after, keyOf(shape, after), { stream, db: "bench", pos, txId: 1000 + Math.floor(i / 1000), tsMs: Date.now(), snapshot: false });
    out.push(enc.encode(JSON.stringify(ev)));
  }
  return out;
}

/**
 * Publishes the payloads to a fresh file-backed stream through the hand-pipelined path and
 * returns messages/s (first publish to last ack). The stream is deleted afterwards.
 */
export async function publishCeiling(nc: NatsConnection, streamName: string, subject: string, payloads: Uint8Array[], msgId: boolean, window = 1024): Promise<number> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: streamName, subjects: [subject], duplicate_window: 120_000_000_000, allow_direct: true } as Parameters<typeof jsm.streams.add>[0]);
  try {
    const inbox = createInbox();
    let acked = 0;
    let failed: string | undefined;
    let wake: (() => void) | undefined;
    const sub = nc.subscribe(`${inbox}.*`, {
      callback: (_err, m) => {
        if (m.data.length && m.data[2] !== 0x73 /* {"stream" */ && !failed) failed = new TextDecoder().decode(m.data);
        acked++;
        const w = wake;
        wake = undefined;
        w?.();
      },
    });
    const t0 = performance.now();
    for (let i = 0; i < payloads.length; i++) {
      while (i - acked >= window) await new Promise<void>((r) => (wake = r));
      const h = msgId ? natsHeaders() : undefined;
      h?.set("Nats-Msg-Id", `bench:${i}`);
      nc.publish(subject, payloads[i]!, { reply: `${inbox}.${i.toString(36)}`, ...(h ? { headers: h } : {}) });
    }
    while (acked < payloads.length) await new Promise<void>((r) => (wake = r));
    const t1 = performance.now();
    sub.unsubscribe();
    if (failed) throw new Error(`bench: publish ceiling got an error ack: ${failed.slice(0, 300)}`);
    return payloads.length / ((t1 - t0) / 1000);
  } finally {
    await jsm.streams.delete(streamName).catch(() => undefined);
  }
}
