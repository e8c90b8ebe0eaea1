import { createHash } from "node:crypto";
import { Hono } from "hono";
import type { ChatModel } from "../ai/models.js";
import { resolveModels } from "../ai/models.js";
import { countPromptTokensYielding } from "../ai/tokens.js";
import type { Dependencies } from "../dependencies.js";
import { AppError } from "../kit/errors.js";
import { parseInput, parseJsonText } from "../kit/validation.js";
import { createHoldBatcher } from "../ledger/index.js";
import { idempotencyKeyHeader } from "../metering/schemas.js";
import { answerCompletion, type GatewayService } from "./completions.js";
import { headerOf, limitBodyFast } from "./node-request.js";
import { asOpenAiError, completionRequest, modelNotFound, toCompletionMessages } from "./openai.js";
import { authenticateCaller, type Caller, payerOf } from "./payer.js";

type GatewayEnv = { Variables: { caller: Caller } };

// As the chat's: 4 bytes a character of CHAT_MAX_PROMPT_CHARS always fits, plus room for the JSON.
const bodyBytesPerChar = 4;
const bodyOverheadBytes = 256 * 1024;

/**
 * The OpenAI-compatible gateway: `POST /v1/chat/completions` and `GET /v1/models`, for any OpenAI
 * client pointed at `<APP_URL>/v1` with a personal key (`cpk_`, the owner pays) or a service key
 * (`csk_`, the customer named in `user` pays). Every call is held before the model is called and
 * settled on its real usage; errors come in OpenAI's shape so clients show them as OpenAI's own.
 * Mount it before the metering API, whose service-key gate covers the rest of `/v1`.
 *
 * @example
 * app.route("/", gatewayRoutes(dependencies));
 */
export function gatewayRoutes(
  dependencies: Dependencies,
  options: { models?: Map<string, ChatModel> } = {},
): Hono<GatewayEnv> {
  const { config, pool, ledger, logger } = dependencies;
  const models = options.models ?? resolveModels(config, { demoWordDelayMs: config.demoWordDelayMs });
  const served = [...models.keys()];
  const service: GatewayService = {
    pool,
    ledger,
    holds: createHoldBatcher({ pool, ledger, holdTtlSeconds: config.holdTtlSeconds }),
    logger,
    creditMarkup: config.creditMarkup,
    holdTtlSeconds: config.holdTtlSeconds,
  };
  const routes = new Hono<GatewayEnv>();

  routes.onError((error, context) => {
    const { status, body } = asOpenAiError(error);
    if (status >= 500) logger.error({ err: error, path: context.req.path }, "gateway request failed");
    const retryAfter =
      error instanceof AppError
        ? (error.details as { retryAfterSeconds?: number })?.retryAfterSeconds
        : undefined;
    if (retryAfter) context.header("Retry-After", String(retryAfter));
    return context.json(body, status as 400);
  });

  const paths = ["/v1/chat/completions", "/v1/models"];
  for (const path of paths) {
    routes.use(path, async (context, next) => {
      context.set("caller", await authenticateCaller({ pool, config }, headerOf(context, "authorization")));
      await next();
    });
  }

  routes.get("/v1/models", (context) =>
    context.json({
      object: "list",
      data: served.map((id) => ({ id, object: "model", created: 0, owned_by: "coinslot" })),
    }),
  );

  routes.post(
    "/v1/chat/completions",
    limitBodyFast({
      maxBytes: config.chatMaxPromptChars * bodyBytesPerChar + bodyOverheadBytes,
      advice: "Send fewer or shorter messages.",
    }),
    async (context) => {
      const raw = await context.req.text();
      const body = parseInput(completionRequest, parseJsonText(raw));
      const model = models.get(body.model);
      if (!model) throw modelNotFound(body.model, served);
      const messages = toCompletionMessages(body);
      const promptChars = messages.reduce((sum, message) => sum + message.text.length, 0);
      if (promptChars > config.chatMaxPromptChars) {
        throw new AppError(
          "PAYLOAD_TOO_LARGE",
          `The messages have ${promptChars} characters; a call may send at most ${config.chatMaxPromptChars} (CHAT_MAX_PROMPT_CHARS).`,
          { fields: ["messages"], limitChars: config.chatMaxPromptChars },
        );
      }
      const header = headerOf(context, "idempotency-key");
      let idempotency: { key: string; requestHash: string } | null = null;
      if (header !== undefined) {
        const key = idempotencyKeyHeader.safeParse(header);
        if (!key.success) {
          throw new AppError(
            "INVALID_IDEMPOTENCY_KEY",
            "Send an Idempotency-Key header of 1 to 255 characters, unique per request (a retry sends the same one).",
          );
        }
        idempotency = { key: key.data, requestHash: createHash("sha256").update(raw).digest("hex") };
      }
      const asked = body.max_completion_tokens ?? body.max_tokens ?? config.maxOutputTokens;
      const estimatedInputTokens = await countPromptTokensYielding(messages);
      const payer = await payerOf({ pool, ledger, config }, context.get("caller"), body.user);
      return answerCompletion(service, {
        payer,
        model,
        messages,
        estimatedInputTokens,
        maxOutputTokens: Math.min(asked, config.maxOutputTokens),
        temperature: body.temperature ?? undefined,
        stream: body.stream === true,
        includeUsage: body.stream_options?.include_usage === true,
        idempotency,
        clientSignal: context.req.raw.signal,
        outgoing: (context.env as { outgoing?: unknown } | undefined)?.outgoing,
      });
    },
  );

  return routes;
}
