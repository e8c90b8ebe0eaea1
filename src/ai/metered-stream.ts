import type { LanguageModelUsage, ModelMessage } from "ai";
import { streamText } from "ai";
import { type Pool, type PoolClient, together, transaction } from "../db/pool.js";
import type { Balance, Ledger } from "../ledger/types.js";
import type { Logger } from "../logger.js";
import { finishAnswer } from "./conversations.js";
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
  /** The client went away or the provider failed mid-answer; what was generated was charged. */
  interrupted?: boolean;
};

export type Outcome = {
  status: "completed" | "failed";
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
  messages: ModelMessage[];
  abortSignal: AbortSignal;
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
 * provider failed before any output, otherwise settled on the usage the provider reported (or, when
 * it reported none or the client left mid-answer, on the tokens counted here). The charge never
 * exceeds the hold. Runs to the end whether or not anyone still reads the stream, and saves the answer.
 */
export async function streamMetered(run: MeteredRun, send: SendChunk): Promise<Outcome> {
  const base: ChatMetadata = { model: run.model.id, isDemo: run.model.isDemo, heldCents: run.heldCents };
  let text = "";
  let usage: LanguageModelUsage | undefined;
  let failure: unknown;
  try {
    const result = streamText({
      model: run.model.languageModel,
      messages: run.messages,
      maxOutputTokens: run.maxOutputTokens,
      abortSignal: run.abortSignal,
      // One quick retry for a failed start; retrying later would repeat output already charged.
      maxRetries: 1,
      onFinish: (event) => {
        usage = event.totalUsage;
      },
      onError: ({ error }) => {
        failure = error;
      },
    });
    const options: ChunkOptions = {
      messageId: run.answerId,
      startMetadata: base,
      errorText: () => (text === "" ? providerFailedText : failedMidwayText),
    };
    for await (const part of result.fullStream) {
      if (part.type === "text-delta") text += part.text;
      const chunk = uiChunkOf(part, options);
      if (chunk) send(chunk);
    }
  } catch (error) {
    failure = error;
  }
  if (failure !== undefined)
    run.logger.warn({ err: failure, answerId: run.answerId }, "chat generation failed");
  const planned = planOutcome(run, { text, usage, failure, base });
  // One round trip: BEGIN, the charge (or release), the answer saved only if the ledger resolved the
  // hold as planned, and COMMIT (`commitWithWork`): a saved answer never says it cost what was not
  // charged. Should the ledger have refused (the sweeper resolved the hold first, say), the answer is
  // saved right after with what it really cost; until then it reads as still streaming, never wrong.
  const [outcome, savedAsPlanned] = await transaction(
    run.pool,
    (client) => together([resolveHold(run, client, planned), saveAnswer(run, client, planned, true)]),
    { attempts: conflictAttempts, commitWithWork: true },
  );
  if (!savedAsPlanned) await saveAnswer(run, run.pool, outcome, false);
  send({ type: "finish", messageMetadata: { ...outcome.metadata, ...outcome.balance } });
  return outcome;
}

/** Saves the answer; `asPlanned`: only if the hold was resolved as the outcome planned it. */
function saveAnswer(run: MeteredRun, database: Pool | PoolClient, outcome: Outcome, asPlanned: boolean) {
  const resolvedAs = outcome.status === "failed" ? "released" : "settled";
  return finishAnswer(database, {
    userId: run.userId,
    id: run.answerId,
    status: outcome.status,
    parts: outcome.text === "" ? [] : [{ type: "text", text: outcome.text }],
    chargedCents: outcome.chargedCents,
    metadata: outcome.metadata,
    ...(asPlanned ? { onlyIfHold: { id: run.holdId, status: resolvedAs } } : {}),
  });
}

type Ended = { text: string; usage: LanguageModelUsage | undefined; failure: unknown; base: ChatMetadata };

/**
 * What the answer costs, decided before the ledger is asked: nothing when the provider failed before
 * any output, otherwise the usage the provider reported (or, when it reported none or the client left
 * mid-answer, the tokens counted here), never more than the hold.
 */
function planOutcome(run: MeteredRun, ended: Ended): Outcome {
  const { text, usage, failure, base } = ended;
  if (text === "" && (failure !== undefined || usage === undefined)) {
    return { status: "failed", text, chargedCents: 0, metadata: { ...base, chargedCents: 0 } };
  }
  const inputTokens = usage?.inputTokens ?? run.estimatedInputTokens;
  const outputTokens = usage?.outputTokens ?? countTextTokens(text);
  const cost = costCents({ inputTokens, outputTokens }, run.model.price, run.creditMarkup);
  // The hold was sized with a margin; should a provider still count more, the user pays what was held.
  const chargedCents = Math.min(cost, run.heldCents);
  const metadata: ChatMetadata = {
    ...base,
    chargedCents,
    inputTokens,
    outputTokens,
    ...(usage === undefined || failure !== undefined ? { interrupted: true } : {}),
  };
  return { status: "completed", text, chargedCents, metadata };
}

/** Resolves the hold as planned, exactly once; a refused charge (already resolved) charges nothing. */
async function resolveHold(run: MeteredRun, client: PoolClient, planned: Outcome): Promise<Outcome> {
  if (planned.status === "failed") {
    const released = await run.ledger.releaseHold({ client, savepoint: false, holdId: run.holdId });
    if (released.error)
      run.logger.error({ error: released.error, holdId: run.holdId }, "hold release failed");
    return released.data ? { ...planned, balance: balanceFields(released.data.balance) } : planned;
  }
  const { inputTokens, outputTokens } = planned.metadata;
  const settled = await run.ledger.settleHold({
    client,
    // Any error rolls the whole transaction back (and it runs again on a deadlock): no savepoint.
    savepoint: false,
    holdId: run.holdId,
    amountCents: planned.chargedCents,
    reference: run.answerId,
    description: `Chat answer by ${run.model.id}: ${inputTokens} input + ${outputTokens} output tokens`,
  });
  if (settled.error) {
    run.logger.error({ error: settled.error, holdId: run.holdId }, "hold settlement failed");
    return { ...planned, chargedCents: 0, metadata: { ...planned.metadata, chargedCents: 0 } };
  }
  return { ...planned, balance: balanceFields(settled.data.balance) };
}
