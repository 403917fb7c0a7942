/**
 * The cost floor of the pipeline: the CPU per event of the work the pipeline cannot skip,
 * measured piece by piece on the same payloads, with none of Tributary's own logic around it.
 *
 * - transport: every change is one JetStream message stored in CDC_ and one in XF_, each
 *   published once and consumed once (the brief's data plane). Measured with Tributary's
 *   own NATS path (the pipelined gap-free publisher with the product's headers, ordered
 *   consumers), which is several times cheaper than the client's `js.publish`: a publish
 *   into stream A, then a relay A → B (consume, publish) and a consumer of B — two
 *   publishes and two consumes per event. CPU of this process and of nats-server.
 * - transform: JSON.parse of the event and one JSONata evaluation (the pipeline's
 *   transformer expression), in this process.
 * - decode (measured by the decode ceiling, ceilings.ts): the raw library's CPU per row.
 * - PostgreSQL (measured in the pipeline run): the database's own CPU per event (inserts,
 *   walsender decoding, the sink's upserts).
 *
 * Their sum is what one event costs the machine even if Tributary's code (envelopes,
 * batching, checkpoints, coalescing, GC) were free; cores / sum bounds the pipeline's rate.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { EventPublisher, StreamReader } from "../src/core/index.js";
import { ensureJetStream } from "../src/nats/index.js";
import { compileTransformer } from "../src/transform/index.js";
import { cpuSeconds, pidsOf, uniqueCluster } from "../tests/support/index.js";

export interface TransportFloor {
  /** events/s of the relay phase (first relay publish to the last event read from B) */
  relay_eps: number;
  /** CPU µs per event of two publishes and two consumes: this process (client side), nats-server */
  client_us: number;
  nats_us: number;
}

const ENC = { op: "c", schema: "public", table: "bench_rows", keyJson: '{"id":1}' };

/** Publishes `payloads` into A, then relays A → B and reads B; CPU of both phases. */
export async function transportFloor(nc: NatsConnection, payloads: Uint8Array[]): Promise<TransportFloor> {
  const tag = uniqueCluster("relay");
  const a = `${tag}_A`;
  const b = `${tag}_B`;
  await ensureJetStream(nc, { name: a, subjects: [`${tag}.a.>`], maxAgeMs: 3_600_000, replicas: 1 });
  await ensureJetStream(nc, { name: b, subjects: [`${tag}.b.>`], maxAgeMs: 3_600_000, replicas: 1 });
  const n = payloads.length;
  const pos = (i: number) => String(i).padStart(16, "0");
  const natsPid = pidsOf("nats-server")[0] ?? -1;
  try {
    const f0 = process.cpuUsage();
    const fn0 = cpuSeconds(natsPid);
    const fill = new EventPublisher(nc, { stream: a, idPrefix: `${tag}.a`, epoch: 1 });
    await fill.start();
    for (let i = 0; i < n; i++) await fill.publishEncoded(`${tag}.a.public.bench_rows`, { ...ENC, json: payloads[i]! }, pos(i + 1));
    await fill.drain();
    fill.close();
    const f1 = process.cpuUsage(f0);
    const fillNats = cpuSeconds(natsPid) - fn0;

    const c0 = process.cpuUsage();
    const n0 = cpuSeconds(natsPid);
    const t0 = performance.now();
    const hop = new EventPublisher(nc, { stream: b, idPrefix: `${tag}.b`, epoch: 1 });
    await hop.start();
    const ra = new StreamReader(nc, { stream: a, filter: `${tag}.a.>`, fromSeq: 1 });
    const rb = new StreamReader(nc, { stream: b, filter: `${tag}.b.>`, fromSeq: 1 });
    await ra.open();
    await rb.open();
    const relay = (async () => {
      for (let done = 0; done < n; ) {
        for (const m of await ra.batch(256, 5, 500)) {
          await hop.publishEncoded(`${tag}.b.public.bench_rows`, { ...ENC, json: m.data }, pos(m.seq), { "Tributary-Source-Seq": String(m.seq) });
          done++;
        }
      }
      await hop.drain();
    })();
    let read = 0;
    while (read < n) read += (await rb.batch(2000, 100, 500)).length;
    const t1 = performance.now();
    await relay;
    const c1 = process.cpuUsage(c0);
    const natsS = cpuSeconds(natsPid) - n0;
    await ra.close();
    await rb.close();
    hop.close();
    return {
      relay_eps: n / ((t1 - t0) / 1000),
      client_us: (f1.user + f1.system + c1.user + c1.system) / n,
      nats_us: ((fillNats + natsS) * 1e6) / n,
    };
  } finally {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(a).catch(() => undefined);
    await jsm.streams.delete(b).catch(() => undefined);
  }
}

/** CPU µs per event of JSON.parse and one evaluation of `expr` (the product's compiled transformer), over `payloads`. */
export async function transformCost(payloads: Uint8Array[], expr: string): Promise<number> {
  const fn = compileTransformer("bench", expr);
  const dec = new TextDecoder();
  let kept = 0;
  const c0 = process.cpuUsage();
  for (const p of payloads) if ((await fn.apply(JSON.parse(dec.decode(p)))).kind === "emit") kept++;
  const c1 = process.cpuUsage(c0);
  if (kept === 0 && payloads.length) throw new Error(`bench: the transformer ${expr} dropped every sample event`);
  return (c1.user + c1.system) / payloads.length;
}
