/** The leased actors a stream spec implies: its reader, one per transformer, one per sink. */
import type { StreamSpec } from "../config/index.js";
import type { ActorRef } from "../nats/index.js";

/** All actors a stream spec implies, reader first. */
export function actorsOf(spec: StreamSpec): ActorRef[] {
  return [
    { kind: "stream", stream: spec.id },
    ...spec.transformers.map((t) => ({ kind: "transformer" as const, stream: spec.id, name: t.name })),
    ...spec.sinks.map((s) => ({ kind: "sink" as const, stream: spec.id, name: s.name })),
  ];
}
