/** Public surface of the cluster layer: heartbeats and membership, placement, the actors of a stream, the cluster view. */
export { startHeartbeat, type Heartbeat, type NodeRecord } from "./heartbeat.js";
export { Membership } from "./membership.js";
export { place, type PlacementNode } from "./placement.js";
export { actorsOf } from "./actors-of.js";
export { clusterView, desiredPlacement, type ClusterActor, type ClusterView, type LocalActor } from "./cluster-view.js";
