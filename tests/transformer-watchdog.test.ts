// The last resort of bounded evaluation (ADR 0011): a catastrophic regular expression blocks
// inside one JSONata step, where its time limit is never checked. A transformer with a
// regular expression is evaluated in a transform thread from the first (small) batch, so
// the thread's watchdog terminates the runaway evaluation, the event is dead-lettered with
// the reason, the other events are evaluated again and published, and the node (this test
// process) never stops answering. When the watchdog has to stop `failAfter` events in a row,
// the transformer fails (non-retryable), not the node.
import { describe, it, expect, afterAll } from "vitest";
import { jetstreamManager } from "@nats-io/jetstream";
import { assertBuilt, cleanupCluster, eventually, natsConnect, startTestNode, streamState, uniqueCluster } from "./support/index.js";
import type { RunningNode } from "../src/node/index.js";

const cluster = uniqueCluster("wd");
const cluster2 = uniqueCluster("wd");
let node: RunningNode | undefined;
let node2: RunningNode | undefined;

afterAll(async () => {
  await node?.shutdown("test end");
  await node2?.shutdown("test end");
  await cleanupCluster(cluster);
  await cleanupCluster(cluster2);
});

describe("transform thread watchdog", () => {
  it("terminates an evaluation stuck in a regular expression, dead-letters that event and goes on", async () => {
    assertBuilt(); // the thread script is the built one
    node = await startTestNode(cluster, [
      {
        id: "re",
        // 30 "x" of the generator's payload: every 10th event gets a "!" that makes the nested
        // quantifier backtrack 2^30 times — seconds once V8 has compiled the regular expression
        // (≈ 3.6 s here), a minute in its interpreter — far over its 20 ms and the watchdog's
        // 1.04 s (should the evaluation ever run on the main thread, the test fails after that
        // minute instead of hanging)
        source: { type: "generator", rate: 2, keys: 5 },
        transformers: [{ name: "match", jsonata: '$contains($substring(after.payload, 0, 30) & (after.seq % 10 = 3 ? "!" : ""), /^(x+)+$/) ? $ : undefined', timeLimit: "20ms" }],
      },
    ]);
    const nc = await natsConnect();
    try {
      const jsm = await jetstreamManager(nc);
      const subject = `${cluster}.dlq.re.transformer-match`;
      const dead = await eventually(
        async () => {
          const info = await jsm.streams.info(`${cluster}_DLQ`, { subjects_filter: subject }).catch(() => null);
          const n = info?.state.subjects?.[subject] ?? 0;
          // the admin API answers while the runaway evaluations happen
          expect((await node!.admin.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
          return n >= 2 ? n : null;
        },
        90_000,
        "two dead letters of the runaway regular expression",
      );
      expect(dead).toBeGreaterThanOrEqual(2);
      // every one, the first included, was stopped by the watchdog: the transformer ran in a
      // thread from the start (on the main thread, the first would have blocked the node until
      // the regular expression gave up, then gone over JSONata's own time limit)
      const info = await jsm.streams.info(`${cluster}_DLQ`);
      for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
        const m = await jsm.streams.getMessage(`${cluster}_DLQ`, { seq });
        expect(m?.subject).toBe(subject);
        expect(m?.header.get("Tributary-Reason")).toBe("limit");
        expect(m?.header.get("Tributary-Error")).toMatch(/^transformer match: evaluation ran for over \d+ ms without stopping at its time limit; its transform thread was terminated/);
        expect(m!.json<{ after: { seq: number } }>().after.seq % 10).toBe(3);
      }
      // the other events went through, and the transformer never failed
      expect((await streamState(nc, `${cluster}_XF_re_match`))?.messages ?? 0).toBeGreaterThanOrEqual(10);
      const actor = node.supervisor.actors().find((a) => a.id === "transformer.re.match");
      expect(actor?.lastError ?? null).toBeNull();
    } finally {
      await nc.close();
    }
  });

  it("fails the transformer, not the node, when the watchdog has to stop failAfter events in a row", async () => {
    node2 = await startTestNode(cluster2, [
      {
        id: "re",
        source: { type: "generator", rate: 2, keys: 5 },
        transformers: [{ name: "stuck", jsonata: '$contains($substring(after.payload, 0, 30) & "!", /^(x+)+$/) ? $ : undefined', timeLimit: "20ms", failAfter: 2 }],
      },
    ]);
    const failed = await eventually(() => node2!.supervisor.actors().find((a) => a.id === "transformer.re.stuck" && a.lastError !== null) ?? null, 90_000, "the transformer to fail");
    expect(failed.lastError).toMatch(/^transformer stuck of stream re: 2 consecutive events went over its evaluation limits .* Last: transformer stuck: evaluation ran for over \d+ ms without stopping at its time limit; its transform thread was terminated/);
    expect(failed.state).toMatch(/failed/);
    expect((await node2.admin.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
    expect(node2.supervisor.actors().find((a) => a.id === "stream.re")?.lastError ?? null).toBeNull();
  });
});
