/**
 * Temporary re-export for actors/leased-actor.machine.test.ts, which imports this path and
 * is being reworked elsewhere to import nothing from src/. The error model lives in
 * src/base/errors.ts; delete this file once actors/ no longer imports it.
 */
export { TributaryError } from "./base/index.js";
