// The hand-over between a push-style driver and the kernel's pull: batching, boundaries,
// the bound and its release, close and failure.
import { describe, expect, it } from "vitest";
import { ChangeQueue } from "./change-queue.js";
import type { SourceChange } from "./source.js";

const change = (pos: number): SourceChange => ({ schema: "s", table: "t", op: "c", pos: String(pos).padStart(4, "0"), json: "{}", keyJson: "{}" });

describe("ChangeQueue", () => {
  it("hands a waiting puller each transaction at its commit, with its position", async () => {
    const q = new ChangeQueue<number>();
    const pulled = q.pull();
    q.add(change(1));
    q.add(change(2));
    let settled = false;
    void pulled.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false); // an open transaction is not handed over
    q.boundary(10);
    const b = await pulled;
    expect(b?.changes.map((c) => c.pos)).toEqual(["0001", "0002"]);
    expect(b?.position).toBe(10);
  });

  it("merges transactions that arrive while the puller is busy, up to maxBatch, and keeps the last position", async () => {
    const q = new ChangeQueue<number>({ maxBatch: 4, maxQueued: 100 });
    for (let tx = 1; tx <= 3; tx++) {
      q.add(change(tx * 10));
      q.add(change(tx * 10 + 1));
      q.boundary(tx);
    }
    const first = await q.pull();
    // two transactions fill the first batch (4 changes); it was cut when full, before tx 2's commit
    expect(first?.changes).toHaveLength(4);
    const second = await q.pull();
    expect(second?.changes.map((c) => c.pos)).toEqual(["0030", "0031"]);
    expect(second?.position).toBe(3);
  });

  it("cuts a full batch inside a large transaction without a position", async () => {
    const q = new ChangeQueue<number>({ maxBatch: 3, maxQueued: 100 });
    for (let i = 1; i <= 7; i++) q.add(change(i));
    const a = await q.pull();
    expect(a?.changes).toHaveLength(3);
    expect(a?.position).toBeUndefined();
    const b = await q.pull();
    expect(b?.changes).toHaveLength(3);
    q.boundary(99);
    const c = await q.pull();
    expect(c?.changes.map((x) => x.pos)).toEqual(["0007"]);
    expect(c?.position).toBe(99);
  });

  it("passes a position-only batch (an idle source advancing)", async () => {
    const q = new ChangeQueue<string>();
    q.boundary("0/AB");
    const b = await q.pull();
    expect(b).toEqual({ changes: [], position: "0/AB" });
  });

  it("says when it is full and releases the producer once the puller takes a batch", async () => {
    const q = new ChangeQueue<number>({ maxBatch: 2, maxQueued: 4 });
    expect(q.add(change(1))).toBe(false);
    expect(q.add(change(2))).toBe(false);
    expect(q.add(change(3))).toBe(false);
    expect(q.add(change(4))).toBe(true); // 4 queued: the producer must wait
    let released = false;
    const space = q.space().then(() => (released = true));
    await Promise.resolve();
    expect(released).toBe(false);
    await q.pull();
    await space;
    expect(released).toBe(true);
    expect(q.size).toBe(2);
  });

  it("ends a waiting pull with undefined on close, and rejects it on failure", async () => {
    const q = new ChangeQueue<number>();
    const p = q.pull();
    q.close();
    await expect(p).resolves.toBeUndefined();
    const f = new ChangeQueue<number>();
    const r = f.pull();
    f.fail(new Error("replication connection ended"));
    await expect(r).rejects.toThrow("replication connection ended");
    await expect(f.pull()).rejects.toThrow("replication connection ended");
  });
});
