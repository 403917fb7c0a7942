/**
 * NATS failures classified by the codes the server and client put on them, never by their
 * message text (STYLE §6): JetStream API errors carry `err_code` (nats.js
 * `JetStreamApiError.code`), and KV compare-and-set failures are JetStream "wrong last
 * sequence" errors.
 */
import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";

/** JetStream API error codes we branch on (nats.js names the first ones; the others are the server's). */
const ApiCodes = {
  ...JetStreamApiCodes,
  /** a stream with this name exists with another configuration (a peer created it first) */
  StreamNameInUse: 10058,
} as const;

/** The JetStream API error code of `err`, or undefined when it is not a JetStream API error. */
function apiCode(err: unknown): number | undefined {
  return err instanceof JetStreamApiError ? err.code : undefined;
}

/**
 * A compare-and-set failed: the expected last sequence (a KV revision, or a chain
 * publisher's Nats-Expected-Last-Sequence) was not the stream's. Someone else wrote.
 */
export function isWrongLastSequence(err: unknown): boolean {
  const c = apiCode(err);
  return c === ApiCodes.StreamWrongLastSequence || c === ApiCodes.StreamWrongLastSequenceUnknown;
}

/** True for err_code values that mean "wrong last sequence" (publish acks carry the bare code). */
export function isWrongLastSequenceCode(code: number | undefined): boolean {
  return code === ApiCodes.StreamWrongLastSequence || code === ApiCodes.StreamWrongLastSequenceUnknown;
}

/** The JetStream stream does not exist. */
export function isStreamNotFound(err: unknown): boolean {
  return apiCode(err) === ApiCodes.StreamNotFound;
}

/** A stream (or KV bucket) of that name already exists: a peer created it concurrently. */
export function isStreamNameInUse(err: unknown): boolean {
  return apiCode(err) === ApiCodes.StreamNameInUse;
}

/** A short text for messages: the error's own message (a JetStream API error's is the server's description). */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
