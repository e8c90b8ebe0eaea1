import { randomBytes, randomUUID } from "node:crypto";
import {
  type Charge,
  type CompletionMessage,
  chargeFor,
  type Generation,
  generateCompletion,
  generationWindow,
} from "../ai/completion.js";
import { conflictAttempts } from "../ai/metered-stream.js";
import type { ChatModel } from "../ai/models.js";
import { relayCompletion } from "../ai/openai-relay.js";
import { maxCostCents } from "../ai/pricing.js";
import { errorCode, type Pool, type PoolClient, retryWithBackoff, transaction } from "../db/pool.js";
import { AppError } from "../kit/errors.js";
import { eventStreamTo } from "../kit/event-stream.js";
import { type HoldBatcher, holdTotalsByKeyPrefix, unwrap } from "../ledger/index.js";
import type { Ledger } from "../ledger/types.js";
import type { Logger } from "../logger.js";
import { findCall, finishCallWrite, forgetFailedCall, type RememberedCall, startCallWrite } from "./calls.js";
import {
  completionChunks,
  completionChunkTexts,
  completionObject,
  openAiFinishReason,
  usageOf,
} from "./openai.js";
import type { Payer } from "./payer.js";

export type GatewayService = {
  pool: Pool;
  ledger: Ledger;
  /** The plain call's hold and settlement, each a statement shared with the calls of the same moment. */
  holds: HoldBatcher;
  logger: Logger;
  creditMarkup: number;
  holdTtlSeconds: number;
};

export type CompletionCall = {
  payer: Payer;
  model: ChatModel;
  messages: CompletionMessage[];
  estimatedInputTokens: number;
  maxOutputTokens: number;
  temperature: number | undefined;
  stream: boolean;
  includeUsage: boolean;
  /** The caller's Idempotency-Key with a hash of the request, when it sent one. */
  idempotency: { key: string; requestHash: string } | null;
  /** Fires when the client goes away (a non-streaming call; a stream hears it from its own cancel). */
  clientSignal: AbortSignal;
  /** Node's response under @hono/node-server (`context.env.outgoing`): a stream is written straight to it. */
  outgoing?: unknown;
};

const uniqueViolation = "23505";

type Placed = { holdId: string; heldCents: number; holdPlacedAtMs: number };

const streamHeaders = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  connection: "keep-alive",
  "x-accel-buffering": "no",
};

function monthStart(now = new Date()): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
}

/**
 * A personal key's monthly limit, checked under the key's row lock in the transaction that places
 * the hold: two calls of one key cannot both fit under what is left. Open holds count in full.
 */
async function checkMonthlyLimit(
  service: GatewayService,
  client: PoolClient,
  payer: Payer,
  heldCents: number,
): Promise<void> {
  if (!payer.limit) return;
  await client.query("select 1 from metering.personal_keys where id = $1 for update", [payer.limit.keyId]);
  const totals = await holdTotalsByKeyPrefix(
    { pool: service.pool, client },
    { prefix: payer.holdPrefix, since: monthStart() },
  );
  const usedCents = totals.openCents + totals.settledCents;
  if (usedCents + heldCents > payer.limit.monthlyLimitCents) {
    throw new AppError(
      "MONTHLY_LIMIT_REACHED",
      `This key's monthly limit is ${payer.limit.monthlyLimitCents} cents; ${usedCents} are spent or held this month and this call may cost up to ${heldCents}. Raise the limit on the API keys page, or wait for next month.`,
      { limitCents: payer.limit.monthlyLimitCents, usedCents, neededCents: heldCents },
    );
  }
}

/** Places the call's hold (and remembers the call, when idempotent) in one transaction; or finds the call already made. */
async function reserve(
  service: GatewayService,
  call: CompletionCall,
  scope: string | null,
  heldCents: number,
): Promise<Placed | { replay: RememberedCall }> {
  const { idempotency } = call;
  const holdKey = `${call.payer.holdPrefix}${randomUUID()}`;
  const holdPlacedAtMs = Date.now();
  const description = `Gateway call to ${call.model.id} for ${call.payer.label} (at most ${call.maxOutputTokens} output tokens)`;
  // The common call (no Idempotency-Key, no monthly limit) has nothing to commit with its hold: the
  // hold alone, in one statement with the other calls' holds of the moment.
  if (!scope && !call.payer.limit) {
    const placed = await service.holds.placeHold({
      userId: call.payer.userId,
      amountCents: heldCents,
      idempotencyKey: holdKey,
      description,
    });
    if (placed.error?.code === "INSUFFICIENT_CREDITS") throw insufficient(placed.error);
    return { holdId: unwrap(placed).hold.id, heldCents, holdPlacedAtMs };
  }
  const attempt = () =>
    transaction(
      service.pool,
      async (client) => {
        if (scope && idempotency) {
          await forgetFailedCall(client, scope);
          const remembered = await findCall(client, scope);
          if (remembered) return { replay: remembered };
        }
        await checkMonthlyLimit(service, client, call.payer, heldCents);
        const writes =
          scope && idempotency
            ? [
                startCallWrite({
                  scope,
                  userId: call.payer.userId,
                  holdKey,
                  requestHash: idempotency.requestHash,
                  model: call.model.id,
                }),
              ]
            : [];
        const { result } = await service.ledger.placeHoldThen({
          client,
          userId: call.payer.userId,
          amountCents: heldCents,
          idempotencyKey: holdKey,
          description,
          writes,
        });
        if (result.error?.code === "INSUFFICIENT_CREDITS") throw insufficient(result.error);
        return { holdId: unwrap(result).hold.id, heldCents, holdPlacedAtMs };
      },
      { attempts: conflictAttempts },
    );
  try {
    return await attempt();
  } catch (error) {
    // The same key sent twice at once: the other request remembered the call first.
    if (errorCode(error) !== uniqueViolation || !scope) throw error;
    const remembered = await transaction(service.pool, (client) => findCall(client, scope));
    if (!remembered) throw error;
    return { replay: remembered };
  }
}

function insufficient(error: { neededCents?: number; availableCents?: number }): AppError {
  const details = { neededCents: error.neededCents, availableCents: error.availableCents };
  return new AppError(
    "INSUFFICIENT_CREDITS",
    `Not enough credits for this call: it may cost up to ${details.neededCents ?? "more"} cents and ${details.availableCents ?? "less"} are available. Buy credits, or ask for fewer max_tokens.`,
    details,
  );
}

/** Resolves the hold exactly once as `charge` says, saving the call's end with it; retried through database blips. */
async function settle(
  service: GatewayService,
  call: CompletionCall,
  placed: Placed & { settleByMs: number },
  scope: string | null,
  ended: { generation: Generation; charge: Charge },
): Promise<void> {
  const { generation, charge } = ended;
  const description = `Gateway: ${call.model.id} for ${call.payer.label}: ${charge.inputTokens} input + ${charge.outputTokens} output tokens`;
  const writes = scope
    ? [
        finishCallWrite({
          scope,
          status: charge.hold === "settled" && generation.text !== "" ? "completed" : "failed",
          text: generation.text,
          finishReason: generation.finishReason,
          inputTokens: charge.inputTokens,
          outputTokens: charge.outputTokens,
          chargedCents: charge.chargedCents,
          holdId: placed.holdId,
          holdStatus: charge.hold,
        }),
      ]
    : [];
  await retryWithBackoff(
    async (attempt) => {
      if (attempt > 1) {
        // A connection lost after COMMIT may have committed: then the hold is resolved already.
        const { data: hold } = await service.ledger.getHold(placed.holdId);
        if (hold && hold.status !== "open") return;
      }
      if (writes.length === 0) {
        // Nothing to save with it: the resolution alone, a settlement in one statement with the
        // other calls' of the moment.
        const resolved =
          charge.hold === "released"
            ? await service.ledger.releaseHold({ holdId: placed.holdId })
            : await service.holds.settleHold({
                userId: call.payer.userId,
                holdId: placed.holdId,
                amountCents: charge.chargedCents,
                description,
              });
        if (resolved.error) {
          service.logger.error(
            { error: resolved.error, holdId: placed.holdId },
            "gateway settlement refused",
          );
        }
        return;
      }
      await transaction(
        service.pool,
        async (client) => {
          const resolved =
            charge.hold === "released"
              ? await service.ledger.releaseHoldThen({ client, holdId: placed.holdId, writes })
              : await service.ledger.settleHoldThen({
                  client,
                  holdId: placed.holdId,
                  amountCents: charge.chargedCents,
                  description,
                  writes,
                });
          if (resolved.result.error) {
            service.logger.error(
              { error: resolved.result.error, holdId: placed.holdId },
              "gateway settlement refused",
            );
          }
        },
        { attempts: conflictAttempts, commitWithWork: true },
      );
    },
    {
      deadlineMs: placed.settleByMs,
      onRetry: (error, attempt, delayMs) =>
        service.logger.warn(
          { err: error, holdId: placed.holdId, attempt, delayMs },
          "gateway settlement retried",
        ),
    },
  );
}

function completionId(): string {
  return `chatcmpl-${randomBytes(12).toString("base64url")}`;
}

/** A remembered call answered again, charged nothing; 409 while the first is still running. */
function replayResponse(call: CompletionCall, remembered: RememberedCall): Response {
  if (call.idempotency && remembered.requestHash !== call.idempotency.requestHash) {
    throw new AppError(
      "IDEMPOTENCY_KEY_REUSED",
      "This Idempotency-Key was used for a different request. Send a new key for a new request; a retry sends the same request with the same key.",
    );
  }
  if (remembered.status === "streaming") {
    throw new AppError(
      "REQUEST_IN_PROGRESS",
      "A request with this Idempotency-Key is still running. Wait for it, then retry to get its answer.",
    );
  }
  const identity = {
    id: completionId(),
    created: Math.floor(remembered.createdAt.getTime() / 1000),
    model: remembered.model,
  };
  const text = remembered.text ?? "";
  const finishReason = remembered.finishReason ?? "stop";
  const usage = usageOf({
    inputTokens: remembered.inputTokens ?? 0,
    outputTokens: remembered.outputTokens ?? 0,
  });
  const headers = { "idempotent-replayed": "true" };
  if (!call.stream) {
    return Response.json(completionObject({ ...identity, text, finishReason, usage }), { headers });
  }
  const chunks = completionChunks(identity, call.includeUsage);
  return eventStreamTo(
    call.outgoing,
    async (send) => {
      send(chunks.opening());
      if (text !== "") send(chunks.text(text));
      for (const chunk of chunks.ending(finishReason, usage)) send(chunk);
    },
    { headers: { ...streamHeaders, ...headers }, onCancel: () => {}, onFailure: () => {} },
  );
}

/**
 * Answers one OpenAI chat completion, metered: the hold is placed before the model is called (402
 * otherwise, and the model is never called), the provider's text is passed on as it comes (as SSE
 * chunks when `stream`), and the hold is resolved exactly once at the end on the real usage, also
 * when the client leaves mid-stream (the provider is stopped and what it generated is charged). With
 * an Idempotency-Key a retry is answered from the first call and charged once.
 */
export async function answerCompletion(service: GatewayService, call: CompletionCall): Promise<Response> {
  const heldCents = maxCostCents(
    { estimatedInputTokens: call.estimatedInputTokens, maxOutputTokens: call.maxOutputTokens },
    call.model.price,
    service.creditMarkup,
  );
  const scope = call.idempotency ? `${call.payer.scopePrefix}${call.idempotency.key}` : null;
  const reserved = await reserve(service, call, scope, heldCents);
  if ("replay" in reserved) return replayResponse(call, reserved.replay);

  const timing = generationWindow({
    holdTtlSeconds: service.holdTtlSeconds,
    holdPlacedAtMs: reserved.holdPlacedAtMs,
    clientSignal: call.clientSignal,
  });
  const identity = { id: completionId(), created: Math.floor(Date.now() / 1000), model: call.model.id };

  const run = async (onText: (text: string) => void) => {
    try {
      const request = {
        model: call.model,
        messages: call.messages,
        maxOutputTokens: call.maxOutputTokens,
        temperature: call.temperature,
        abortSignal: timing.signal,
        onText,
      };
      // An upstream in OpenAI's format is relayed to directly: the same Generation at a fraction of
      // the AI SDK provider's CPU per chunk; any other model (Gemini, the demo) goes through its provider.
      const generation = call.model.openAiRelay
        ? await relayCompletion(call.model.openAiRelay, request)
        : await generateCompletion(request);
      const charge = chargeFor(generation, {
        model: call.model,
        creditMarkup: service.creditMarkup,
        heldCents,
        estimatedInputTokens: call.estimatedInputTokens,
      });
      await settle(service, call, { ...reserved, settleByMs: timing.settleByMs }, scope, {
        generation,
        charge,
      });
      return { generation, charge };
    } finally {
      timing.close();
    }
  };

  if (!call.stream) {
    const { generation, charge } = await run(() => {});
    if (generation.text === "" && generation.providerFailed) throw providerFailed();
    return Response.json(
      completionObject({
        ...identity,
        text: generation.text,
        finishReason: openAiFinishReason(generation.finishReason),
        usage: usageOf(charge),
      }),
    );
  }

  const chunks = completionChunkTexts(identity, call.includeUsage);
  return eventStreamTo(
    call.outgoing,
    async (send, sendText) => {
      sendText(chunks.opening());
      const { generation, charge } = await run((text) => sendText(chunks.text(text)));
      if (generation.providerFailed) {
        send({ error: providerFailedBody(generation.text !== "") });
        return;
      }
      for (const chunk of chunks.ending(openAiFinishReason(generation.finishReason), usageOf(charge))) {
        sendText(chunk);
      }
    },
    {
      headers: streamHeaders,
      // A client that goes away stops the provider, so it stops costing; the call is still settled.
      onCancel: timing.stop,
      onFailure: (error, send) => {
        service.logger.error({ err: error }, "gateway stream failed");
        send({
          error: {
            message: "Something went wrong on our side.",
            type: "server_error",
            param: null,
            code: null,
          },
        });
      },
    },
  );
}

function providerFailed(): AppError {
  return new AppError(
    "UPSTREAM_FAILED",
    "The model's provider failed before answering; nothing was charged. Try again in a moment.",
  );
}

function providerFailedBody(midway: boolean) {
  return {
    message: midway
      ? "The model's provider stopped mid-answer; only what was generated was charged."
      : "The model's provider failed before answering; nothing was charged. Try again in a moment.",
    type: "server_error",
    param: null,
    code: "upstream_error",
  };
}
