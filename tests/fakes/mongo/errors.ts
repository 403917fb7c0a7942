/**
 * Command errors of the fake MongoDB server, with mongod's numeric codes and code names, so the
 * driver classifies them (retryable, resumable, transient) exactly as it would a real server's.
 */
import type { Doc } from "./bson-values.js";

/** mongod error codes the fake produces (name → number). */
export const CODES = {
  InternalError: 1,
  BadValue: 2,
  FailedToParse: 9,
  Unauthorized: 13,
  TypeMismatch: 14,
  AuthenticationFailed: 18,
  IllegalOperation: 20,
  NamespaceNotFound: 26,
  PathNotViable: 28,
  ConflictingUpdateOperators: 40,
  CursorNotFound: 43,
  NoMatchingDocument: 47,
  NamespaceExists: 48,
  CommandNotFound: 59,
  ImmutableField: 66,
  InvalidOptions: 72,
  InvalidNamespace: 73,
  WriteConflict: 112,
  CursorKilled: 237,
  NotImplemented: 238,
  NoSuchTransaction: 251,
  TransactionCommitted: 256,
  InvalidResumeToken: 260,
  OperationNotSupportedInTransaction: 263,
  ChangeStreamFatalError: 280,
  ChangeStreamHistoryLost: 286,
  DuplicateKey: 11000,
  Location40415: 40415,
  Location40573: 40573,
  Location40602: 40602,
  Location40674: 40674,
} as const;

/** A code name from {@link CODES}. */
export type CodeName = keyof typeof CODES;

/** An error a command replies with as `{ok: 0, errmsg, code, codeName, errorLabels?}`. */
export class CommandError extends Error {
  /**
   * @param code mongod's numeric error code
   * @param codeName mongod's code name (e.g. `"ChangeStreamHistoryLost"`)
   * @param errorLabels labels such as `"TransientTransactionError"` or `"ResumableChangeStreamError"`
   */
  constructor(
    readonly code: number,
    readonly codeName: string,
    message: string,
    readonly errorLabels: readonly string[] = [],
  ) {
    super(message);
    this.name = "CommandError";
  }

  /** The reply document for this error (without cluster time fields). */
  toReply(): Doc {
    const reply: Doc = { ok: 0, errmsg: this.message, code: this.code, codeName: this.codeName };
    if (this.errorLabels.length > 0) reply.errorLabels = [...this.errorLabels];
    return reply;
  }
}

/** Builds a {@link CommandError} from a code name of {@link CODES}. */
export function fail(codeName: CodeName, message: string, errorLabels: readonly string[] = []): CommandError {
  return new CommandError(CODES[codeName], codeName, message, errorLabels);
}

/** A write error entry `{index, code, errmsg, …}` for insert/update/delete replies. */
export interface WriteError {
  index: number;
  code: number;
  errmsg: string;
  keyPattern?: Doc;
  keyValue?: Doc;
}
