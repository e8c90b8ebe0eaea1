/** One spend to measure: which account, how much, under which key. */
export type SpendCall = { userId: string; amountCents: number; idempotencyKey: string };

export type Measurement = {
  operations: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
};

function percentile(sortedMs: number[], fraction: number): number {
  const index = Math.min(sortedMs.length - 1, Math.ceil(fraction * sortedMs.length) - 1);
  return Math.round((sortedMs[Math.max(index, 0)] ?? Number.NaN) * 1_000) / 1_000;
}

/**
 * Runs `operations` calls of `spend` from `callers` concurrent callers (each waits for its answer
 * before the next, like request handlers), and measures throughput and per-call latency.
 */
export async function measure(options: {
  operations: number;
  callers: number;
  next: (index: number) => SpendCall;
  spend: (call: SpendCall) => Promise<boolean>;
}): Promise<Measurement> {
  const latenciesMs: number[] = [];
  let issued = 0;
  let failed = 0;
  const startedNs = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: options.callers }, async () => {
      while (issued < options.operations) {
        const call = options.next(issued++);
        const beganNs = process.hrtime.bigint();
        if (!(await options.spend(call))) failed += 1;
        latenciesMs.push(Number(process.hrtime.bigint() - beganNs) / 1e6);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - startedNs) / 1e9;
  if (failed > 0) throw new Error(`${failed} spends failed; the benchmark measures successful spends only`);
  latenciesMs.sort((left, right) => left - right);
  return {
    operations: options.operations,
    seconds: Math.round(seconds * 1_000) / 1_000,
    perSecond: Math.round(options.operations / seconds),
    p50Ms: percentile(latenciesMs, 0.5),
    p99Ms: percentile(latenciesMs, 0.99),
  };
}
