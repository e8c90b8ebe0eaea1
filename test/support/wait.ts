/**
 * Polls `check` until it returns something truthy and returns that, or fails naming `what` after
 * `timeoutMs`: waiting for a condition instead of sleeping a fixed time, so a loaded machine is
 * only slower, never flaky.
 *
 * @example
 * const row = await waitFor(async () => (await query("select ...")).rows[0], "the row");
 */
export async function waitFor<T>(
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
