/**
 * Waiting for a condition without timed assertions: poll a check until it yields a value,
 * and fail with a message that names what was awaited and what was seen last. Imports
 * nothing from src/, so the lightest unit test can use it.
 */

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Thrown by a check to stop waiting at once (e.g. the node being waited on exited): the
 * error propagates instead of being retried until the timeout.
 */
export class GiveUp extends Error {
  override readonly name = "GiveUp";
}

function describeLast(last: unknown): string {
  if (last instanceof Error) return last.message;
  if (last === undefined) return "undefined";
  try {
    return JSON.stringify(last) ?? String(last);
  } catch {
    return String(last);
  }
}

/**
 * Calls `check` every `everyMs` until it returns a truthy value, and returns that value.
 * An error thrown by `check` counts as "not yet" (a server still starting refuses
 * connections), except a {@link GiveUp}, which is rethrown at once.
 * @param timeoutMs how long to keep polling @default 30000
 * @param what what is awaited, for the timeout message @default "the condition"
 * @param everyMs pause between two checks @default 200
 * @throws Error "timed out after N ms waiting for <what>; last: <last value or error>"
 */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 30_000, what = "the condition", everyMs = 200): Promise<NonNullable<T>> {
  const t0 = performance.now();
  let last: unknown = undefined;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (err) {
      if (err instanceof GiveUp) throw err;
      last = err;
    }
    if (performance.now() - t0 >= timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${describeLast(last)}`);
    await sleep(everyMs);
  }
}

/**
 * Polls a difference check (null: no difference) until it reports none, and returns the
 * last difference when the time is up, for `expect(await converged(...)).toBeNull()` to
 * show what still differs.
 * @param everyMs pause between two checks @default 1000
 */
export async function converged(check: () => Promise<string | null>, timeoutMs: number, everyMs = 1000): Promise<string | null> {
  let last: string | null = "not checked";
  try {
    await eventually(async () => (last = await check()) === null, timeoutMs, "convergence", everyMs);
    return null;
  } catch {
    return last;
  }
}
