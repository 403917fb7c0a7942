/**
 * GET /v1/cluster: the cluster-wide truth from the buckets (any node answers the same):
 * nodes from the heartbeats, actors from the desired streams and their leases. The XState
 * state is known only for actors this node runs; others show "leased" or "unowned".
 */
import type { StreamSpec } from "../config/index.js";
import { actorId, type ControlPlane, type LeaseValue } from "../nats/index.js";
import { actorsOf } from "./actors-of.js";
import type { NodeRecord } from "./heartbeat.js";
import { place } from "./placement.js";

/** What the view needs of an actor this node runs. */
export interface LocalActor {
  id: string;
  state: unknown;
}

/** One actor in the cluster view. */
export interface ClusterActor {
  id: string;
  kind: "stream" | "transformer" | "sink";
  stream: string;
  name: string | null;
  owner: string | null;
  epoch: number | null;
  desired: string | null;
  state: string;
}

/** GET /v1/cluster and `tributary status`. */
export interface ClusterView {
  node: string | null;
  nodes: Array<NodeRecord & { actors: number }>;
  actors: ClusterActor[];
}

/** Desired owner of every actor of `streams`, computed like every node does. */
export function desiredPlacement(streams: StreamSpec[], nodes: NodeRecord[], epsilon: number): Map<string, string> {
  const ids = streams.filter((s) => !s.paused).flatMap((s) => actorsOf(s).map(actorId));
  return place(ids, nodes.filter((n) => !n.draining).map((n) => ({ id: n.id, capacity: n.capacity })), epsilon);
}

/**
 * @param desired desired owner per actor id (a node passes its supervisor's view)
 * @param local this node's own actors, for their XState state
 */
export async function clusterView(cp: ControlPlane, desired: (nodes: NodeRecord[]) => Map<string, string>, local: readonly LocalActor[] = [], self: string | null = null): Promise<ClusterView> {
  const leases = new Map<string, { node: string; epoch: number }>();
  for await (const key of await cp.leases.keys()) {
    const e = await cp.leases.get(key);
    if (!e || e.operation !== "PUT") continue;
    const v = e.json<LeaseValue>();
    leases.set(key, { node: v.node, epoch: v.epoch ?? e.revision });
  }
  const nodes: NodeRecord[] = [];
  for await (const key of await cp.nodes.keys()) {
    const e = await cp.nodes.get(key);
    if (e && e.operation === "PUT") nodes.push(e.json<NodeRecord>());
  }
  const mineById = new Map(local.map((a) => [a.id, a]));
  const want = desired(nodes);
  const ids = new Set([...want.keys(), ...leases.keys()]);
  const actors: ClusterActor[] = [...ids].sort().map((id) => {
    const [kind, stream, ...rest] = id.split(".");
    const l = leases.get(id);
    const mine = self !== null && l?.node === self ? mineById.get(id) : undefined;
    return {
      id,
      kind: kind as ClusterActor["kind"],
      stream: stream ?? "",
      name: rest.length ? rest.join(".") : null,
      owner: l?.node ?? null,
      epoch: l?.epoch ?? null,
      desired: want.get(id) ?? null,
      state: mine ? String(mine.state) : l ? "leased" : "unowned",
    };
  });
  const count = (n: string) => actors.filter((a) => a.owner === n).length;
  return { node: self, nodes: nodes.sort((a, b) => (a.id < b.id ? -1 : 1)).map((n) => ({ ...n, actors: count(n.id) })), actors };
}
