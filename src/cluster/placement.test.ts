import { describe, it, expect } from "vitest";
import { place, loads, loadBound } from "./placement.js";

const actors = (n: number) => Array.from({ length: n }, (_, i) => `stream.s${i}`);
const nodes = (...ids: string[]) => ids.map((id) => ({ id, capacity: 1000 }));

describe("placement (rendezvous hashing with bounded load)", () => {
  it("places every actor exactly once, within the load bound, the same on every node", () => {
    const a = actors(126);
    const p = place(a, nodes("n1", "n2", "n3"));
    expect(p.size).toBe(126);
    const bound = loadBound(126, 3, 0.25);
    expect(bound).toBe(53);
    for (const l of loads(p).values()) expect(l).toBeLessThanOrEqual(bound);
    // same inputs in another order: same answer
    expect(place([...a].reverse(), nodes("n3", "n1", "n2"))).toEqual(p);
  });

  it("moves about a quarter of the actors when a 4th node joins, all of them to the new node", () => {
    const a = actors(400);
    const before = place(a, nodes("n1", "n2", "n3"));
    const after = place(a, nodes("n1", "n2", "n3", "n4"));
    const moved = a.filter((x) => before.get(x) !== after.get(x));
    expect(moved.length).toBeGreaterThan(400 * 0.2);
    expect(moved.length).toBeLessThan(400 * 0.35);
    expect(moved.filter((x) => after.get(x) === "n4").length / moved.length).toBeGreaterThan(0.85);
  });

  it("moves only about the departed node's share when a node leaves", () => {
    const a = actors(400);
    const before = place(a, nodes("n1", "n2", "n3", "n4"));
    const after = place(a, nodes("n1", "n2", "n3"));
    const orphans = a.filter((x) => before.get(x) === "n4");
    const moved = a.filter((x) => before.get(x) !== after.get(x));
    expect(moved.length).toBeLessThan(orphans.length * 1.4);
    for (const l of loads(after).values()) expect(l).toBeLessThanOrEqual(loadBound(400, 3, 0.25));
  });

  it("respects node capacity and leaves out what fits nowhere", () => {
    const p = place(actors(10), [{ id: "small", capacity: 2 }, { id: "big", capacity: 5 }]);
    expect(loads(p).get("small")).toBeLessThanOrEqual(2);
    expect(loads(p).get("big")).toBeLessThanOrEqual(5);
    expect(p.size).toBe(7);
    expect(place(actors(3), []).size).toBe(0);
  });
});
