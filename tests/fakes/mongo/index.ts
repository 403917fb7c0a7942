/**
 * Public surface of the fake MongoDB server used by the MongoDB source/sink tests and the
 * reader benchmark. Import from here only.
 */
export { FakeMongo, type FakeMongoOptions, type FakeMongoStats, type Fault, type FaultSpec, type LoggedCommand } from "./server.js";
export type { FakeUser } from "./scram.js";
export { CODES } from "./errors.js";
