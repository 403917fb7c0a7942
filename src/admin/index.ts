/** Public surface of the admin HTTP API: the factory and what it needs from a node. */
export { buildAdmin, type ActorInfo, type AdminNode, type AdminOptions } from "./server.js";
