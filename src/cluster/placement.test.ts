import { describe, it, expect } from "vitest";
import { place, loads, loadBound, score } from "./placement.js";

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

  it("gives the same answer for any order of the actors even when the bound forces actors off their first choice", () => {
    const a = actors(40);
    const p = place(a, nodes("n1", "n2"), 0);
    expect([...loads(p).values()]).toEqual([20, 20]);
    // some actors did not get their highest-scoring node: the order of placement decided who
    const secondChoice = a.filter((x) => p.get(x) !== (score(x, "n1") > score(x, "n2") ? "n1" : "n2"));
    expect(secondChoice.length).toBeGreaterThan(0);
    expect(place([...a].reverse(), nodes("n2", "n1"), 0)).toEqual(p);
    expect(place([...a.slice(20), ...a.slice(0, 20)], nodes("n1", "n2"), 0)).toEqual(p);
  });

  it("breaks a score tie by node id, whatever the order of the nodes", () => {
    // a 48-bit collision found offline; the score is pinned too: every node must compute it alike
    expect(score("stream.tie", "n21309983")).toBe(238249330477946);
    expect(score("stream.tie", "n23694826")).toBe(238249330477946);
    const tie = (...ids: string[]) => place(["stream.tie"], nodes(...ids)).get("stream.tie");
    expect(tie("n21309983", "n23694826")).toBe("n21309983");
    expect(tie("n23694826", "n21309983")).toBe("n21309983");
  });

  it("scores (actor, node) pairs unambiguously: the two ids are separated before hashing", () => {
    expect(score("stream.ab", "c")).not.toBe(score("stream.a", "bc"));
  });

  it("counts actors per node exactly", () => {
    const p = new Map([["a", "n1"], ["b", "n2"], ["c", "n1"]]);
    expect(loads(p)).toEqual(new Map([["n1", 2], ["n2", 1]]));
    expect(loads(new Map())).toEqual(new Map());
  });

  it("has no room anywhere without nodes", () => {
    expect(loadBound(5, 0, 0.25)).toBe(0);
    expect(loadBound(5, 2, 0)).toBe(3);
    expect(loadBound(4, 2, 0)).toBe(2);
  });
});
