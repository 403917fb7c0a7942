/**
 * Reader only (PostgreSQL -> JetStream) and its ceilings, on the same WAL: the stream's
 * slot is created by a first start of the node, a second slot by hand; then the changes
 * are written while nothing reads, the raw library decodes them from the second slot,
 * the raw publisher publishes the same payloads, and finally the node catches up.
 * The reader's rate is first to last message as JetStream stamped them.
 */
import { Names } from "../src/nats/index.js";
import { adminQuery, eventually, GiveUp, natsConnect, NodeProc, streamState, uniqueName } from "../tests/support/index.js";
import { benchNodeFlags, createWorld, PUBLICATION, STREAM_ID } from "./setup.js";
import { decodeCeiling, publishCeiling, samplePayloads } from "./ceilings.js";
import { saturate, TRANSFORMERS } from "./workload.js";
import { transformCost, transportFloor } from "./floor.js";
import type { BenchOptions } from "./options.js";

export interface ReaderResult {
  reader_eps: number;
  decode_ceiling_eps: number;
  publish_ceiling_eps: number;
  publish_ceiling_nodedup_eps: number;
  reader_catchup_incl_start_s: number;
  reader_cpu_s: number;
  /** cost floor pieces, CPU µs per event (floor.ts) */
  floor: { transport_client_us: number; transport_nats_us: number; transform_us: number; decode_client_us: number; decode_postgres_us: number; relay_eps: number };
  events: number;
  profile?: string;
}

export async function readerScenario(o: BenchOptions, log: (m: string) => void, cpuProfDir?: string): Promise<ReaderResult> {
  const w = await createWorld(o, false);
  const nc = await natsConnect(o.natsUrl);
  let node: NodeProc | undefined;
  const ceilSlot = uniqueName("bench_ceil").slice(0, 63);
  try {
    // first start creates the stream's slot; stop gracefully so the changes queue up in the WAL
    node = await NodeProc.create({ config: w.config, nodeFlags: benchNodeFlags(), keepLog: true });
    node.start();
    await node.waitReady({ actors: 1, timeoutMs: 120_000 });
    await node.term();
    await w.src.client.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [ceilSlot]);
    const plan = await saturate(w.src.client, o.events, o.updateShare);
    log(`  wrote ${plan.events} changes (${plan.inserts} inserts, ${plan.updates} updates)`);

    const decode = await decodeCeiling(w.src.url, ceilSlot, PUBLICATION, plan.events);
    await adminQuery(`SELECT pg_drop_replication_slot($1)`, [ceilSlot], o.pgBase).catch(() => undefined);
    log(`  decode ceiling ${Math.round(decode.eps)} rows/s (${decode.client_us.toFixed(1)} µs/row client, ${decode.postgres_us.toFixed(1)} µs/row postgres)`);

    const payloads = samplePayloads(plan.events, STREAM_ID);
    const subj = `${w.cluster}.benchpub.x`;
    const pubDedup = await publishCeiling(nc, `${w.cluster}_PUBCEIL1`, subj, payloads, true);
    const pubRaw = await publishCeiling(nc, `${w.cluster}_PUBCEIL2`, subj, payloads, false);
    log(`  publish ceiling ${Math.round(pubDedup)} msgs/s with Nats-Msg-Id, ${Math.round(pubRaw)} without`);
    const transport = await transportFloor(nc, payloads);
    const transform = await transformCost(payloads, TRANSFORMERS[o.transformer]!);
    log(`  floor: two JetStream hops ${transport.client_us.toFixed(1)} µs client + ${transport.nats_us.toFixed(1)} µs nats-server per event; transform ${transform.toFixed(1)} µs`);

    const cdc = new Names(w.cluster).cdcStream(STREAM_ID);
    node = await NodeProc.create({ config: w.config, cpuProfDir, nodeFlags: benchNodeFlags(), keepLog: true });
    const t0 = performance.now();
    node.start();
    const st = await eventually(async () => {
      const s = await streamState(nc, cdc);
      if (!node!.running) throw new GiveUp(`bench: node exited:\n${node!.tail()}`);
      return s && s.lastSeq >= plan.events ? s : null;
    }, 600_000, `the reader to publish ${plan.events} events`, 50);
    const inclStart = (performance.now() - t0) / 1000;
    const cpu = node.cpuSeconds();
    const eps = (st.messages - 1) / ((st.lastTs - st.firstTs) / 1000);
    log(`  reader ${Math.round(eps)} events/s (${inclStart.toFixed(1)} s including node start, ${cpu.toFixed(1)} CPU s)`);
    await node.term();
    return {
      profile: node.profileFiles().main,
      reader_eps: eps,
      decode_ceiling_eps: decode.eps,
      floor: {
        transport_client_us: transport.client_us,
        transport_nats_us: transport.nats_us,
        transform_us: transform,
        decode_client_us: decode.client_us,
        decode_postgres_us: decode.postgres_us,
        relay_eps: transport.relay_eps,
      },
      publish_ceiling_eps: pubDedup,
      publish_ceiling_nodedup_eps: pubRaw,
      reader_catchup_incl_start_s: inclStart,
      reader_cpu_s: cpu,
      events: plan.events,
    };
  } finally {
    await node?.term();
    await nc.close();
    await adminQuery(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active`, [ceilSlot], o.pgBase).catch(() => undefined);
    await w.cleanup();
  }
}
