import { type Pool, type PoolClient, retryWithBackoff, transaction } from "../db/pool.js";
import type { Balance, Ledger } from "../ledger/types.js";
import type { Logger } from "../logger.js";
import { type CompletionMessage, type Generation, generateCompletion } from "./completion.js";
import { finishAnswer, finishAnswerWrite } from "./conversations.js";
import type { ChatModel } from "./models.js";
import { costCents } from "./pricing.js";
import { countTextTokens } from "./tokens.js";
import { type ChunkOptions, uiChunkOf } from "./ui-chunks.js";
import type { SendChunk } from "./ui-stream.js";

/** What the client learns about an answer, as UI message metadata (`message.metadata` in useChat). */
export type ChatMetadata = {
  model: string;
  isDemo: boolean;
  heldCents?: number;
  chargedCents?: number;
  balanceCents?: number;
  availableCents?: number;
  inputTokens?: number;
  outputTokens?: number;
  /** A repeated message id: the saved answer again, charged nothing. */
  replayed?: boolean;
  /**
   * The client went away (or the generation deadline passed) or the provider failed mid-answer:
   * the prompt and what was generated were charged.
   */
  interrupted?: boolean;
};

export type Outcome = {
  /** `failed`: nothing was said (the provider failed, or the answer was stopped before a word). */
  status: "completed" | "failed";
  /** How the hold ends: settled on the charge (which may be 0), or released untouched. */
  hold: "settled" | "released";
  text: string;
  chargedCents: number;
  /** What the answer cost, saved with it. */
  metadata: ChatMetadata;
  /** The account right after, for the client only: a saved answer need not remember it. */
  balance?: Pick<ChatMetadata, "balanceCents" | "availableCents">;
};

export type MeteredRun = {
  pool: Pool;
  ledger: Ledger;
  userId: string;
  logger: Logger;
  model: ChatModel;
  creditMarkup: number;
  maxOutputTokens: number;
  holdId: string;
  heldCents: number;
  estimatedInputTokens: number;
  answerId: string;
  messages: CompletionMessage[];
  /** Fires when the client leaves or the generation deadline passes: the model is stopped. */
  abortSignal: AbortSignal;
  /** Settlement is tried until this moment (epoch ms), a margin before the hold expires unpaid. */
  settleByMs: number;
};

/**
 * How often a chat transaction runs when PostgreSQL aborts it on a deadlock (two chats of one user):
 * both of them act only inside the database, so running them again is safe.
 */
export const conflictAttempts = 4;

const providerFailedText =
  "The AI provider failed before answering; nothing was charged. Try again in a moment.";
const failedMidwayText = "The AI provider stopped mid-answer; only the part you received was charged.";

function balanceFields(balance: Balance) {
  return { balanceCents: balance.balanceCents, availableCents: balance.availableCents };
}

/**
 * Streams the model's answer through `send`, then resolves the hold exactly once: released when the
 * provider failed before any output (or the client left before the model was called), otherwise
 * settled on the usage the provider reported (or, when it reported none or the answer was stopped,
 * on the tokens counted here). The charge never exceeds the hold. Runs to the end whether or not
 * anyone still reads the stream, and saves the answer.
 */
export async function streamMetered(run: MeteredRun, send: SendChunk): Promise<Outcome> {
  const base: ChatMetadata = { model: run.model.id, isDemo: run.model.isDemo, heldCents: run.heldCents };
  // A client that left while the hold was being placed never reaches the provider, so costs nothing.
  const ended = run.abortSignal.aborted
    ? { text: "", usage: undefined, failure: undefined, providerFailed: false, calledModel: false }
    : await generate(run, send, base);
  const planned = planOutcome(run, { ...ended, base });
  const outcome = await settle(run, planned);
  send({ type: "finish", messageMetadata: { ...outcome.metadata, ...outcome.balance } });
  return outcome;
}

type Generated = {
  text: string;
  usage: Generation["usage"];
  failure: unknown;
  /** The failure was the provider's, not the abort of a client that left or of the deadline. */
  providerFailed: boolean;
  calledModel: boolean;
};

async function generate(run: MeteredRun, send: SendChunk, base: ChatMetadata): Promise<Generated> {
  let errorSent = false;
  const options: ChunkOptions = {
    errorText: () => {
      errorSent = true;
      return generation.text === "" ? providerFailedText : failedMidwayText;
    },
  };
  // The chunks streamText's UI stream would send around the provider's own parts.
  send({ type: "start", messageId: run.answerId, messageMetadata: base });
  send({ type: "start-step" });
  const generation = { text: "" };
  const ended = await generateCompletion({
    model: run.model,
    messages: run.messages,
    maxOutputTokens: run.maxOutputTokens,
    abortSignal: run.abortSignal,
    onText: (text) => {
      generation.text += text;
    },
    onPart: (part) => {
      const chunk = uiChunkOf(part, options);
      if (chunk) send(chunk);
    },
  });
  if (ended.failure !== undefined) {
    run.logger.warn({ err: ended.failure, answerId: run.answerId }, "chat generation failed");
    // A provider that failed before streaming (a refused request) sent no error part of its own.
    if (ended.providerFailed && !errorSent) send({ type: "error", errorText: options.errorText() });
    if (!ended.providerFailed) send({ type: "abort" });
  } else {
    send({ type: "finish-step" });
  }
  return {
    text: ended.text,
    usage: ended.usage,
    failure: ended.failure,
    providerFailed: ended.providerFailed,
    calledModel: true,
  };
}

/**
 * Resolves the hold and saves the answer in one transaction, tried again with backoff while the
 * database cannot be reached (a restart, a dropped connection, a full pool), until a margin before
 * the hold expires: an answer already streamed is charged, not given away by a blip.
 */
async function settle(run: MeteredRun, planned: Outcome): Promise<Outcome> {
  const onRetry = (error: unknown, attempt: number, delayMs: number) =>
    run.logger.warn({ err: error, holdId: run.holdId, attempt, delayMs }, "chat settlement retried");
  // One round trip: BEGIN, the charge (or release), the answer saved only if the ledger resolved the
  // hold as planned (the ledger's hold protocol), and COMMIT (`commitWithWork`): a saved answer never
  // says it cost what was not charged. Should the ledger have refused (the sweeper resolved the hold
  // first, say), the answer is saved right after with what it really cost; until then it reads as
  // still streaming, never wrong.
  const [outcome, savedAsPlanned] = await retryWithBackoff(
    async (attempt) => {
      // A connection lost after COMMIT was sent may have committed: then the hold is resolved as
      // planned (only this request resolves it), and resolving it again would read as refused.
      if (attempt > 1 && (await resolvedAsPlanned(run, planned))) {
        return [{ ...planned, balance: await currentBalance(run) }, true] as const;
      }
      return transaction(run.pool, (client) => resolveHold(run, client, planned), {
        attempts: conflictAttempts,
        commitWithWork: true,
      });
    },
    { deadlineMs: run.settleByMs, onRetry },
  );
  if (!savedAsPlanned) {
    // The hold is resolved: what is left is to say so, worth a while longer even past its expiry.
    const deadlineMs = Math.max(run.settleByMs, Date.now() + answerSaveRetryMs);
    await retryWithBackoff(() => finishAnswer(run.pool, answerOf(run, outcome)), { deadlineMs, onRetry });
  }
  return outcome;
}

const answerSaveRetryMs = 30_000;

/** Whether the hold already ended as `planned` said, settled on exactly its charge or released. */
async function resolvedAsPlanned(run: MeteredRun, planned: Outcome): Promise<boolean> {
  const { data: hold } = await run.ledger.getHold(run.holdId);
  if (hold?.status !== planned.hold) return false;
  return planned.hold === "released" || hold.settledCents === planned.chargedCents;
}

async function currentBalance(run: MeteredRun): Promise<Outcome["balance"]> {
  const balance = await run.ledger.getBalance(run.userId);
  return balance.data ? balanceFields(balance.data) : undefined;
}

/** The answer as saved: how it ended and what it cost. */
function answerOf(run: MeteredRun, outcome: Outcome) {
  return {
    userId: run.userId,
    id: run.answerId,
    status: outcome.status,
    parts: outcome.text === "" ? [] : [{ type: "text" as const, text: outcome.text }],
    chargedCents: outcome.chargedCents,
    metadata: outcome.metadata,
  };
}

type Ended = Generated & { base: ChatMetadata };

/**
 * What the answer costs, decided before the ledger is asked. Nothing when the model was never called
 * or the provider itself failed before any output. Otherwise the provider has read the prompt and
 * bills it, even when the client left (or the deadline passed) before the first word: the usage the
 * provider reported, or, when it reported none, the prompt counted before the call and the output
 * counted here; never more than the hold.
 */
function planOutcome(run: MeteredRun, ended: Ended): Outcome {
  const { text, usage, failure, providerFailed, calledModel, base } = ended;
  if (!calledModel || (text === "" && providerFailed)) {
    return {
      status: "failed",
      hold: "released",
      text,
      chargedCents: 0,
      metadata: { ...base, chargedCents: 0 },
    };
  }
  const inputTokens = usage?.inputTokens ?? run.estimatedInputTokens;
  const outputTokens = usage?.outputTokens ?? countTextTokens(text);
  const cost = costCents({ inputTokens, outputTokens }, run.model.price, run.creditMarkup);
  // The hold was sized with a margin; should a provider still count more, the user pays what was held.
  const chargedCents = Math.min(cost, run.heldCents);
  const interrupted = usage === undefined || failure !== undefined;
  const metadata: ChatMetadata = {
    ...base,
    chargedCents,
    inputTokens,
    outputTokens,
    ...(interrupted ? { interrupted: true } : {}),
  };
  // Stopped before a word: the prompt is paid, but there is no answer to replay.
  const status = interrupted && text === "" ? "failed" : "completed";
  return { status, hold: "settled", text, chargedCents, metadata };
}

/**
 * Resolves the hold as planned, exactly once, and saves the answer in the same round trip only if the
 * ledger resolved it so (says whether it saved); a refused charge (already resolved) charges nothing.
 */
async function resolveHold(
  run: MeteredRun,
  client: PoolClient,
  planned: Outcome,
): Promise<readonly [Outcome, boolean]> {
  const writes = [
    finishAnswerWrite({ ...answerOf(run, planned), onlyIfHold: { id: run.holdId, status: planned.hold } }),
  ];
  if (planned.hold === "released") {
    const { result: released, rowCounts } = await run.ledger.releaseHoldThen({
      client,
      holdId: run.holdId,
      writes,
    });
    if (released.error)
      run.logger.error({ error: released.error, holdId: run.holdId }, "hold release failed");
    const outcome = released.data ? { ...planned, balance: balanceFields(released.data.balance) } : planned;
    return [outcome, rowCounts[0] === 1];
  }
  const { inputTokens, outputTokens } = planned.metadata;
  // Any error rolls the whole transaction back (and it runs again on a deadlock).
  const { result: settled, rowCounts } = await run.ledger.settleHoldThen({
    client,
    holdId: run.holdId,
    amountCents: planned.chargedCents,
    reference: run.answerId,
    description: `Chat answer by ${run.model.id}: ${inputTokens} input + ${outputTokens} output tokens`,
    writes,
  });
  const saved = rowCounts[0] === 1;
  if (settled.error) {
    run.logger.error({ error: settled.error, holdId: run.holdId }, "hold settlement failed");
    return [{ ...planned, chargedCents: 0, metadata: { ...planned.metadata, chargedCents: 0 } }, saved];
  }
  return [{ ...planned, balance: balanceFields(settled.data.balance) }, saved];
}
