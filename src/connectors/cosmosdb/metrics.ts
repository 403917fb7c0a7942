/**
 * The Cosmos DB connector's own Prometheus metrics, registered once per registry on the
 * node's (injected) registry: throttled requests (429), the time the service asked us to
 * wait, and request units spent — per stream, actor and container.
 */
import { Counter, type Registry } from "prom-client";

/** The counters of one actor (stream and actor labels bound). */
export interface CosmosMetrics {
  /** one 429 answered for `container`, with the delay the service asked for */
  throttled(container: string, retryAfterMs: number): void;
  /** request units of one response (the `x-ms-request-charge` header) */
  charge(container: string, units: unknown): void;
}

interface Counters {
  throttled: Counter<"stream" | "actor" | "container">;
  waited: Counter<"stream" | "actor" | "container">;
  units: Counter<"stream" | "actor" | "container">;
}

const byRegistry = new WeakMap<Registry, Counters>();

function countersOf(registry: Registry): Counters {
  let c = byRegistry.get(registry);
  if (!c) {
    const labelNames = ["stream", "actor", "container"] as const;
    const registers = [registry];
    c = {
      throttled: new Counter({ name: "tributary_cosmos_throttled_total", help: "Cosmos DB requests answered 429 (request rate too large); each is retried after the service's x-ms-retry-after-ms", labelNames, registers }),
      waited: new Counter({ name: "tributary_cosmos_throttle_wait_seconds_total", help: "Time Cosmos DB asked throttled requests to wait (x-ms-retry-after-ms)", labelNames, registers }),
      units: new Counter({ name: "tributary_cosmos_request_units_total", help: "Request units (RU) charged by Cosmos DB", labelNames, registers }),
    };
    byRegistry.set(registry, c);
  }
  return c;
}

/** The counters of actor `actor` of stream `stream`, on `registry`. */
export function cosmosMetrics(registry: Registry, stream: string, actor: string): CosmosMetrics {
  const c = countersOf(registry);
  return {
    throttled(container, retryAfterMs) {
      c.throttled.inc({ stream, actor, container });
      if (Number.isFinite(retryAfterMs) && retryAfterMs > 0) c.waited.inc({ stream, actor, container }, retryAfterMs / 1000);
    },
    charge(container, units) {
      const n = Number(units);
      if (Number.isFinite(n) && n > 0) c.units.inc({ stream, actor, container }, n);
    },
  };
}
