/**
 * What the kernel hands a work: the NATS connection and names, the fenced position store,
 * a narrow slice of the settings, the stream's identity, the lease epoch, logging, metrics
 * and the probe. Deliberately not the whole config: src/config/ sits above the kernel.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { Names, PositionStore } from "../nats/index.js";
import type { Metrics } from "../metrics/index.js";

/** The node settings the kernel and connectors read. */
export interface KernelSettings {
  /** cluster name (names, and ids derived from it such as MySQL's default server id) */
  cluster: string;
  /** replicas of the JetStream streams the kernel creates */
  replicas: number;
  checkpoint: {
    /** longest time between checkpoints while events flow (ms) */
    interval: number;
    /** checkpoint at least every this many acknowledged events */
    maxEvents: number;
  };
}

/** The stream an actor belongs to. */
export interface StreamIdentity {
  id: string;
  /** how long JetStream keeps the stream's events (ms) */
  maxAge: number;
}

/** What a reader announces on `tributary.probe.<stream>` (see KernelDeps.probe). */
export type ProbeEvent = "start" | "active" | "stop";

/** Everything one actor's work receives from the composition root. */
export interface KernelDeps {
  nc: NatsConnection;
  names: Names;
  positions: PositionStore;
  settings: KernelSettings;
  stream: StreamIdentity;
  /** the lease epoch (fencing token) this work runs under */
  epoch: number;
  log: Logger;
  metrics: Metrics;
  /**
   * Announces reader activity on `tributary.probe.<stream>` (core NATS, fire and forget):
   * "start" after fencing, "active" after each successful checkpoint, "stop" after a graceful
   * stop. An independent checker can prove two readers were never active at once. `at` is
   * when the fact became true (for "active": the time *before* the successful checkpoint
   * request), since a process frozen after the fact may publish it late.
   */
  probe(event: ProbeEvent, position?: unknown, at?: number): void;
}
