/** Public surface of the config module. */
export * from "./schema.js";
export { loadConfigFile, parseConfig, parseStreamSpec, interpolateEnv } from "./load.js";
export { parseDuration } from "./duration.js";
