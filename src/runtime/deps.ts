/** Dependencies every actor's work receives from the composition root. */
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { Config, StreamSpec } from "../config/index.js";
import type { ControlPlane } from "../nats/control-plane.js";
import type { PositionStore } from "../nats/positions.js";
import type { Metrics } from "../metrics/metrics.js";
import type { Lease } from "../nats/lease.js";
import type { TransformPool } from "../transform/transform-pool.js";

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
  /** the node's transform threads (transformers hand large batches to them); none: evaluate in place */
  transformPool?: TransformPool;
  /**
   * Announces reader activity on `tributary.probe.<stream>` (core NATS, fire and forget):
   * "start" after fencing, "active" after each successful checkpoint, "stop" after a graceful
   * stop. An independent checker can prove two readers were never active at once. `at` is
   * when the fact became true (for "active": the time *before* the successful checkpoint
   * request), since a process frozen after the fact may publish it late.
   */
  probe(event: "start" | "active" | "stop", position?: unknown, at?: number): void;
}
