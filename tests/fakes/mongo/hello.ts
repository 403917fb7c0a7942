/**
 * The hello / isMaster reply of the fake MongoDB server. In replica-set mode it describes a
 * one-member set whose primary is this server (stable electionId and setVersion, so the
 * driver never thinks the primary went stale); in standalone mode it is a plain mongod.
 * It leaves out `topologyVersion` on purpose: the driver then polls hello every
 * heartbeatFrequencyMS instead of using exhaust streaming, which the fake does not implement.
 */
import { Long, ObjectId, type Timestamp } from "mongodb";
import type { Doc } from "./bson-values.js";

/** Wire version 21 = MongoDB 7.0 (inside every supported driver's range, ≥17 for pre-images). */
export const MAX_WIRE_VERSION = 21;
const ELECTION_ID = new ObjectId("7fffffff0000000000000001");

/** What the hello reply needs to know. */
export interface HelloInput {
  replicaSet: string | undefined;
  address: string;
  connectionId: number;
  lastWrite: Timestamp;
}

/** The hello reply (without `$clusterTime`/`operationTime`, which the server adds). */
export function helloReply(input: HelloInput): Doc {
  const reply: Doc = {
    helloOk: true,
    ismaster: true,
    isWritablePrimary: true,
    maxBsonObjectSize: 16 * 1024 * 1024,
    maxMessageSizeBytes: 48_000_000,
    maxWriteBatchSize: 100_000,
    localTime: new Date(),
    logicalSessionTimeoutMinutes: 30,
    connectionId: input.connectionId,
    minWireVersion: 0,
    maxWireVersion: MAX_WIRE_VERSION,
    readOnly: false,
  };
  if (input.replicaSet !== undefined) {
    const lastWriteDate = new Date(input.lastWrite.t * 1000);
    const opTime = { ts: input.lastWrite, t: Long.fromNumber(1) };
    Object.assign(reply, {
      setName: input.replicaSet,
      setVersion: 1,
      electionId: ELECTION_ID,
      hosts: [input.address],
      primary: input.address,
      me: input.address,
      secondary: false,
      lastWrite: { opTime, lastWriteDate, majorityOpTime: opTime, majorityWriteDate: lastWriteDate },
    });
  }
  reply.ok = 1;
  return reply;
}
