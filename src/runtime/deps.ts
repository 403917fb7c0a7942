/** Dependencies every actor's work receives from the composition root. */
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { Config, StreamSpec } from "../config/index.js";
import type { ControlPlane } from "../nats/control-plane.js";
import type { PositionStore } from "../nats/positions.js";
import type { Metrics } from "../metrics/metrics.js";
import type { Lease } from "../nats/lease.js";

export interface WorkDeps {
  nc: NatsConnection;
  cp: ControlPlane;
  positions: PositionStore;
  cfg: Config;
  spec: StreamSpec;
  lease: Lease;
  log: Logger;
  metrics: Metrics;
  nodeId: string;
}
