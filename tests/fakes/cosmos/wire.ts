/**
 * HTTP plumbing shared by the Cosmos DB and Entra ID fakes: the service's error shape
 * (`{code, message}` JSON plus `x-ms-substatus`, which @azure/cosmos needs to parse any
 * status >= 400), reading request bodies and writing replies.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";

/** A reply of the fake: status, optional JSON body (or raw text) and headers. */
export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** An error the fake answers with, shaped like the service's (`{code, message}` + substatus). */
export class CosmosError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly substatus?: number,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  /** The reply the SDK sees for this error. */
  toReply(): Reply {
    const headers: Record<string, string> = { ...this.headers };
    if (this.substatus !== undefined) headers["x-ms-substatus"] = String(this.substatus);
    return { status: this.status, body: { code: this.code, message: this.message }, headers };
  }
}

/** Errors with the codes and texts the service uses for them. */
export const errors = {
  badRequest: (message: string, substatus?: number) => new CosmosError(400, "BadRequest", message, substatus),
  unauthorized: (message: string) => new CosmosError(401, "Unauthorized", message),
  forbidden: (message: string, substatus?: number) => new CosmosError(403, "Forbidden", message, substatus),
  notFound: (what = "Entity with the specified id does not exist in the system.") =>
    new CosmosError(404, "NotFound", what),
  conflict: () => new CosmosError(409, "Conflict", "Entity with the specified id already exists in the system."),
  preconditionFailed: () =>
    new CosmosError(412, "PreconditionFailed",
      "Operation cannot be performed because one of the specified precondition is not met."),
  tooLarge: () => new CosmosError(413, "RequestEntityTooLarge", "Request size is too large."),
  gone: (substatus: number, message: string) => new CosmosError(410, "Gone", message, substatus),
} as const;

/** Reads a whole request body. */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Writes `reply` as JSON (no body for 204/304), adding the headers every Cosmos reply has. */
export function writeReply(res: ServerResponse, reply: Reply): void {
  const headers: Record<string, string> = {
    "x-ms-activity-id": randomUUID(),
    "x-ms-request-charge": "1",
    "x-ms-gatewayversion": "version=2.14.0",
    ...reply.headers,
  };
  let payload: string | undefined;
  if (reply.status !== 204 && reply.status !== 304 && reply.body !== undefined) {
    payload = typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body);
    headers["content-type"] ??= "application/json";
    headers["content-length"] = String(Buffer.byteLength(payload));
  }
  res.writeHead(reply.status, headers);
  res.end(payload);
}

/** First value of a request header (node joins or arrays some of them). */
export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}
