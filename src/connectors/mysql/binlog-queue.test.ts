/** The bounded queue between zongji and the publisher: pauses the producer when full, resumes it when drained. */
import { describe, expect, it } from "vitest";
import { BoundedQueue } from "./binlog-queue.js";

function queue(highWater = 10, lowWater?: number) {
  const calls: string[] = [];
  const q = new BoundedQueue<{ rows: number; id: number }>({ highWater, lowWater, weight: (i) => i.rows, pause: () => calls.push("pause"), resume: () => calls.push("resume") });
  return { q, calls };
}

describe("BoundedQueue", () => {
  it("pauses once at the high-water mark and resumes once at the low-water mark", async () => {
    const { q, calls } = queue(10);
    for (let i = 0; i < 4; i++) q.push({ rows: 3, id: i }); // 12 rows queued: paused at the 4th push
    expect(calls).toEqual(["pause"]);
    expect(q.isPaused).toBe(true);
    q.push({ rows: 3, id: 4 }); // what one socket read already held still lands (never refused)
    expect(q.size).toBe(15);
    expect((await q.take())?.id).toBe(0); // 12 left
    expect((await q.take())?.id).toBe(1); // 9
    expect((await q.take())?.id).toBe(2); // 6
    expect(calls).toEqual(["pause"]);
    expect((await q.take())?.id).toBe(3); // 3 <= 5: resume
    expect(calls).toEqual(["pause", "resume"]);
    expect(q.isPaused).toBe(false);
    expect(q.pauses).toBe(1);
  });

  it("hands an item straight to a waiting consumer, in order", async () => {
    const { q } = queue();
    const first = q.take();
    q.push({ rows: 1, id: 7 });
    q.push({ rows: 1, id: 8 });
    expect((await first)?.id).toBe(7);
    expect((await q.take())?.id).toBe(8);
  });

  it("close wakes a waiting consumer with undefined and ignores later pushes", async () => {
    const { q } = queue();
    const waiting = q.take();
    q.close();
    expect(await waiting).toBeUndefined();
    q.push({ rows: 1, id: 1 });
    expect(await q.take()).toBeUndefined();
  });

  it("keeps memory bounded over many items (the consumed prefix is dropped)", async () => {
    const { q, calls } = queue(100);
    let taken = 0;
    for (let i = 0; i < 10_000; i++) {
      q.push({ rows: 1, id: i });
      if (q.isPaused) while (q.isPaused) if ((await q.take())?.id === taken) taken++;
    }
    while (q.size > 0) if ((await q.take())?.id === taken) taken++;
    expect(taken).toBe(10_000);
    expect(calls.filter((c) => c === "pause").length).toBe(calls.filter((c) => c === "resume").length);
  });
});
