/** Public surface of the change-event envelope. */
export type { ChangeEvent, EventSource, JsonValue, Op, Row } from "./change-event.js";
