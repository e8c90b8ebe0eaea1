/**
 * Coalesces concurrent calls into batches for one statement each: the calls of one event-loop turn
 * leave together, and while batches are in the database the calls that arrive queue up and leave
 * together in the next one, so a burst costs a few round trips and commits instead of one each.
 * `run` answers a batch (`undefined` for a call it left to the one-call path); when it throws, the
 * statement was rolled back whole (a key raced in, a deadlock, a lost connection) and every call of
 * the batch is answered by `oneByOne`, where a real failure reaches its caller. Calls whose `keyOf`
 * repeats one already in the batch wait for the next.
 *
 * @example
 * const queue = createBatchQueue({ keyOf: (call) => call.key, run: applyAll, oneByOne: applyOne });
 * const answer = await queue.submit(call);
 */
export type BatchQueue<Call, Answer> = {
  submit(call: Call): Promise<Answer>;
  /** Waits for every queued call to be answered. */
  drain(): Promise<void>;
  stats(): BatchCounts;
};

/** How many statements ran, how many calls they answered, how many took the one-call path. */
export type BatchCounts = { batches: number; batched: number; oneByOne: number };

type Waiting<Call, Answer> = {
  call: Call;
  resolve: (answer: Answer) => void;
  reject: (error: unknown) => void;
};

export function createBatchQueue<Call, Answer>(options: {
  keyOf: (call: Call) => string;
  run: (batch: Call[]) => Promise<(Answer | undefined)[]>;
  oneByOne: (call: Call) => Promise<Answer>;
  maxBatchSize?: number;
  maxConcurrentBatches?: number;
}): BatchQueue<Call, Answer> {
  const maxBatchSize = Math.min(Math.max(options.maxBatchSize ?? 256, 1), 1_000);
  const maxConcurrentBatches = Math.min(Math.max(options.maxConcurrentBatches ?? 4, 1), 64);
  const queue: Waiting<Call, Answer>[] = [];
  let inFlight = 0;
  let scheduled = false;
  const idle: (() => void)[] = [];
  const counts = { batches: 0, batched: 0, oneByOne: 0 };

  const oneByOne = (waiting: Waiting<Call, Answer>) => {
    counts.oneByOne += 1;
    options.oneByOne(waiting.call).then(waiting.resolve, waiting.reject);
  };

  const run = async (batch: Waiting<Call, Answer>[]) => {
    counts.batches += 1;
    let answers: (Answer | undefined)[];
    try {
      answers = await options.run(batch.map((waiting) => waiting.call));
    } catch {
      for (const waiting of batch) oneByOne(waiting);
      return;
    }
    batch.forEach((waiting, index) => {
      const answer = answers[index];
      if (answer === undefined) {
        oneByOne(waiting);
      } else {
        counts.batched += 1;
        waiting.resolve(answer);
      }
    });
  };

  const pump = () => {
    scheduled = false;
    while (inFlight < maxConcurrentBatches && queue.length > 0) {
      const batch = takeDistinctKeys(queue, maxBatchSize, options.keyOf);
      inFlight += 1;
      void run(batch).finally(() => {
        inFlight -= 1;
        if (queue.length > 0) pump();
        else if (inFlight === 0) for (const done of idle.splice(0)) done();
      });
    }
  };

  return {
    submit: (call) =>
      new Promise((resolve, reject) => {
        queue.push({ call, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          // Let the callers of this turn join the batch before it leaves.
          setImmediate(pump);
        }
      }),
    stats: () => ({ ...counts }),
    drain: () =>
      queue.length === 0 && inFlight === 0 ? Promise.resolve() : new Promise<void>((done) => idle.push(done)),
  };
}

/** Up to `limit` queued calls with distinct keys, taken from the queue; a repeated key waits for the next batch. */
function takeDistinctKeys<Call, Answer>(
  queue: Waiting<Call, Answer>[],
  limit: number,
  keyOf: (call: Call) => string,
): Waiting<Call, Answer>[] {
  const batch: Waiting<Call, Answer>[] = [];
  const keys = new Set<string>();
  for (let index = 0; index < queue.length && batch.length < limit; ) {
    const waiting = queue[index] as Waiting<Call, Answer>;
    const key = keyOf(waiting.call);
    if (keys.has(key)) {
      index++;
      continue;
    }
    keys.add(key);
    batch.push(waiting);
    queue.splice(index, 1);
  }
  return batch;
}
