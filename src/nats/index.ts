/** Public surface of the NATS layer. */
export * from "./names.js";
export { connectNats } from "./connect.js";
export { openControlPlane, getJson, toJson, type ControlPlane } from "./control-plane.js";
export { LeaseStore, type Lease, type LeaseValue } from "./lease.js";
export { PositionStore, type FencedPosition, type PositionValue } from "./positions.js";
export { ChainPublisher, buildHeaders, type StreamTail } from "./chain-publisher.js";
export { ensureJetStream, deleteJetStream, deleteClusterStreams } from "./data-plane.js";
