/**
 * Desired placement of actors on nodes: rendezvous (highest-random-weight) hashing with a
 * bounded load. Every node computes the same map from the same inputs (live nodes, actor
 * ids), so no coordinator is needed; leases stay the only arbiter, so nodes that briefly
 * disagree cost churn, never safety.
 *
 * Bound: no node gets more than ⌈(1+ε)·actors/nodes⌉ actors (nor more than its capacity).
 * Actors are placed in a fixed order (by id); each goes to the highest-scoring node that
 * still has room. Adding or removing a node moves about its share of actors.
 */
import { createHash } from "node:crypto";

export interface PlacementNode {
  id: string;
  /** most actors this node accepts */
  capacity: number;
}

/** Score of (actor, node): 48 bits of md5, stable across processes and versions (exported for its tests). */
export function score(actor: string, node: string): number {
  const h = createHash("md5").update(actor).update("\u0000").update(node).digest();
  return h.readUIntBE(0, 6);
}

/** Upper bound of actors per node. */
export function loadBound(actors: number, nodes: number, epsilon: number): number {
  if (nodes === 0) return 0;
  return Math.ceil(((1 + epsilon) * actors) / nodes);
}

/**
 * Places every actor; actors that fit nowhere (all nodes at capacity) are left out.
 * @param epsilon allowed overload over the average @default 0.25
 */
export function place(actorIds: readonly string[], nodes: readonly PlacementNode[], epsilon = 0.25): Map<string, string> {
  const out = new Map<string, string>();
  if (nodes.length === 0) return out;
  const bound = loadBound(actorIds.length, nodes.length, epsilon);
  const load = new Map(nodes.map((n) => [n.id, 0]));
  const sorted = [...actorIds].sort();
  for (const a of sorted) {
    const ranked = nodes.map((n) => ({ n, s: score(a, n.id) })).sort((x, y) => y.s - x.s || (x.n.id < y.n.id ? -1 : 1));
    for (const { n } of ranked) {
      const l = load.get(n.id)!;
      if (l < Math.min(bound, n.capacity)) {
        out.set(a, n.id);
        load.set(n.id, l + 1);
        break;
      }
    }
  }
  return out;
}

/** Actors per node of a placement. */
export function loads(p: Map<string, string>): Map<string, number> {
  const m = new Map<string, number>();
  for (const n of p.values()) m.set(n, (m.get(n) ?? 0) + 1);
  return m;
}
