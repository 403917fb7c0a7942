/** Public surface of the metrics layer. */
export { Metrics } from "./metrics.js";
