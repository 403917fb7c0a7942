/**
 * Public surface of the NATS layer: names, the connection, the control-plane buckets
 * (leases, fenced positions), the data-plane streams, the gap-free chain publisher and
 * dead letters. NATS failures leave this layer as TributaryErrors classified by their
 * JetStream codes (nats-errors.ts).
 */
export { Names, actorId, consumerName, positionKey, type ActorKind, type ActorRef } from "./names.js";
export { clientAuth, connectNats, type ClientAuth, type NatsOptions, type NatsTlsOptions } from "./connect.js";
export { openControlPlane, listClusters, getJson, toJson, type ControlPlane, type ControlPlaneOptions } from "./control-plane.js";
export { LeaseStore, type Lease, type LeaseValue } from "./lease.js";
export { PositionStore, type FencedPosition, type PositionValue } from "./positions.js";
export { ChainPublisher, type ChainPublisherOptions, type StreamTail } from "./chain-publisher.js";
export { HeaderBlock, headerValue } from "./header-block.js";
export { ensureJetStream, deleteJetStream, deleteClusterStreams, type JetStreamSpec } from "./data-plane.js";
export { ensureDlq, sendToDlq, type DeadLetter, type DeadLetterReason } from "./dlq.js";
