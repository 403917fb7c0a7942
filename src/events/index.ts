/** Public surface of the change-event envelope. */
export type { ChangeEvent, EventSource, JsonValue, Op, Row, UpdateDescription } from "./change-event.js";
