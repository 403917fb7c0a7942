// The retry delays: full-jitter backoff and equal jitter.
import { describe, expect, it } from "vitest";
import { backoff, jitter } from "./time.js";

describe("jitter", () => {
  it("spreads a delay over [ms/2, ms): never in lockstep, never shorter than half", () => {
    expect(jitter(1000, () => 0)).toBe(500);
    expect(jitter(1000, () => 0.999)).toBe(999);
    const seen = new Set(Array.from({ length: 200 }, () => jitter(30_000)));
    expect(seen.size).toBeGreaterThan(150);
    for (const v of seen) expect(v >= 15_000 && v < 30_000).toBe(true);
  });

  it("backoff grows exponentially under its cap, with full jitter", () => {
    expect(backoff(1, 100, 10_000, () => 0.5)).toBe(50);
    expect(backoff(4, 100, 10_000, () => 0.5)).toBe(400);
    expect(backoff(20, 100, 10_000, () => 0.999)).toBe(9990);
  });
});
