/** Public surface of the composition root: starting a node, and the desired-state store the CLI shares with it. */
export { startNode, VERSION, type RunningNode, type StartNodeOptions } from "./node.js";
export { applyStreams, listStreams, putStream, type ApplyResult } from "./streams-store.js";
