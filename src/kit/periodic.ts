/**
 * Runs `pass` every `intervalMs`, never two at once (a tick that finds the last pass still running
 * skips), until stopped. A pass that throws is handed to `onError` and tried again at the next tick.
 * `stop` aborts the signal each pass receives (so work in flight can be cut off) and waits for the
 * pass in progress. The timer does not keep the process alive.
 *
 * @example
 * const loop = runPeriodically({ intervalMs: 1_000, pass: (signal) => deliverDue(signal), onError });
 * await loop.stop();
 */
export function runPeriodically(options: {
  intervalMs: number;
  pass: (stopping: AbortSignal) => Promise<unknown>;
  onError: (error: unknown) => void;
}): { stop: () => Promise<void> } {
  const stopping = new AbortController();
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = options
      .pass(stopping.signal)
      .then(
        () => undefined,
        (error: unknown) => options.onError(error),
      )
      .finally(() => {
        running = undefined;
      });
  }, options.intervalMs);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      stopping.abort();
      await running;
    },
  };
}
