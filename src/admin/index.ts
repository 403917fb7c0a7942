/** Public surface of the admin HTTP API: the factory, what it needs from a node, and the allowed-hosts check. */
export { buildAdmin, type ActorInfo, type AdminNode, type AdminOptions, type DeletionAnswer, type FailingActor, type HealthReport } from "./server.js";
export { checkAllowedHosts } from "./allowed-hosts.js";
