import { checkoutSession, refundedCharge, stripeEvent } from "./billing-fixtures.js";
import { type Answer, askQuestion, deliverEvent, type Outcome, startCheckout } from "./fault-client.js";
import { between, pick } from "./random.js";

/**
 * The people of the fault history and what they do: chat (sometimes hanging up mid-answer, sometimes
 * asking the same question again), buy credits (a checkout Coinslot records, then its signed
 * `checkout.session.completed`, sometimes delivered twice or as a second event), get refunds
 * (`charge.refunded`, partial or whole), and replays of old events. Everything sent is remembered,
 * so the end can say what the ledger must show.
 */

export type Person = {
  index: number;
  userId: string;
  cookie: string;
  random: () => number;
  questions: { chatId: string; messageId: string; text: string }[];
};

/** A checkout Coinslot answered with a session id, whose completion was sent at least once. */
export type Purchase = {
  checkoutSessionId: string;
  userId: string;
  amountCents: number;
  paymentIntentId: string;
  /** The highest cumulative refund any `charge.refunded` sent for it carried. */
  refundedCents: number;
};

export type World = {
  baseUrl: string;
  webhookSecret: string;
  answers: Answer[];
  live: Set<Answer>;
  purchases: Purchase[];
  /** Every Stripe event built, in order, for replays and the final redelivery. */
  events: unknown[];
  /** Outcomes per operation, such as `chat 200` or `webhook ECONNREFUSED`. */
  operations: Map<string, number>;
  stopping: boolean;
};

export const answerTimeoutMs = 15_000;
const words = ["ledger", "credit", "stripe", "hold", "answer", "refund", "kill", "restart", "cents", "why"];

const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

export function createWorld(baseUrl: string, webhookSecret: string): World {
  return {
    baseUrl,
    webhookSecret,
    answers: [],
    live: new Set(),
    purchases: [],
    events: [],
    operations: new Map(),
    stopping: false,
  };
}

function record(world: World, operation: string, outcome: Outcome): boolean {
  const label = `${operation} ${[outcome.status, outcome.failure].filter(Boolean).join(" ")}`;
  world.operations.set(label, (world.operations.get(label) ?? 0) + 1);
  return outcome.status !== undefined && outcome.status < 500;
}

async function ask(world: World, person: Person, question: Person["questions"][number], hangUp: boolean) {
  const answer = await askQuestion(world.baseUrl, {
    cookie: person.cookie,
    userId: person.userId,
    ...question,
    hangUpAfterText: hangUp,
    timeoutMs: answerTimeoutMs,
    live: world.live,
  });
  world.answers.push(answer);
  const outcome =
    answer.status === undefined
      ? { failure: answer.failure ?? "no answer" }
      : { status: answer.status, failure: answer.errorText };
  return record(world, hangUp ? "chat (hang up)" : "chat", outcome);
}

async function chat(world: World, person: Person): Promise<boolean> {
  const count = person.random() < 0.2 ? 2 : 1;
  const asked = Array.from({ length: count }, () => {
    const id = `fault-${person.index}-${person.questions.length}-${between(person.random, 0, 1e9)}`;
    const extra = Array.from({ length: between(person.random, 0, 40) }, () => pick(person.random, words));
    const question = { chatId: `chat-${id}`, messageId: `msg-${id}`, text: `Tell me ${extra.join(" ")}` };
    person.questions.push(question);
    return ask(world, person, question, person.random() < 0.2);
  });
  return (await Promise.all(asked)).every(Boolean);
}

/**
 * One question asked to the end on a server that is up: after the faults, every person's last answer
 * must be charged, so the history can never pass by having done nothing.
 */
export async function askToTheEnd(world: World, person: Person): Promise<boolean> {
  const id = `fault-${person.index}-${person.questions.length}-last`;
  const question = { chatId: `chat-${id}`, messageId: `msg-${id}`, text: "Tell me how the ledger recovered" };
  person.questions.push(question);
  return ask(world, person, question, false);
}

/** The same question again: its saved answer replayed, 409 while it streams, or a new attempt. */
async function askAgain(world: World, person: Person): Promise<boolean> {
  if (person.questions.length === 0) return chat(world, person);
  return ask(world, person, pick(person.random, person.questions), false);
}

async function deliver(world: World, event: unknown, times: number): Promise<boolean> {
  const outcomes = await Promise.all(
    Array.from({ length: times }, () => deliverEvent(world.baseUrl, event, world.webhookSecret)),
  );
  return outcomes.map((outcome) => record(world, "webhook", outcome)).every(Boolean);
}

async function buy(world: World, person: Person): Promise<boolean> {
  const amountCents = 100 + 50 * between(person.random, 0, 8);
  const started = await startCheckout(world.baseUrl, { cookie: person.cookie, amountCents });
  if (!record(world, "checkout", started) || !started.checkoutSessionId) return false;
  const checkoutSessionId = started.checkoutSessionId;
  const purchase: Purchase = {
    checkoutSessionId,
    userId: person.userId,
    amountCents,
    paymentIntentId: `pi_fault_${checkoutSessionId}`,
    refundedCents: 0,
  };
  world.purchases.push(purchase);
  const completed = () =>
    stripeEvent(
      "checkout.session.completed",
      checkoutSession({
        id: checkoutSessionId,
        userId: person.userId,
        amountCents,
        paymentIntentId: purchase.paymentIntentId,
      }),
    );
  const event = completed();
  world.events.push(event);
  const delivered = await deliver(world, event, person.random() < 0.3 ? 2 : 1);
  if (person.random() >= 0.15) return delivered;
  // Another event for the same session (the success page racing the webhook looks the same to it).
  const again = completed();
  world.events.push(again);
  return deliver(world, again, 1);
}

async function refund(world: World, person: Person): Promise<boolean> {
  const refundable = world.purchases.filter(
    (purchase) => purchase.userId === person.userId && purchase.refundedCents < purchase.amountCents,
  );
  if (refundable.length === 0) return buy(world, person);
  const purchase = pick(person.random, refundable);
  const remaining = purchase.amountCents - purchase.refundedCents;
  const refundedCents =
    purchase.refundedCents + (person.random() < 0.3 ? remaining : between(person.random, 1, remaining));
  purchase.refundedCents = refundedCents;
  const event = stripeEvent(
    "charge.refunded",
    refundedCharge({
      paymentIntentId: purchase.paymentIntentId,
      amountCents: purchase.amountCents,
      refundedCents,
    }),
  );
  world.events.push(event);
  return deliver(world, event, person.random() < 0.3 ? 2 : 1);
}

/** Stripe redelivers an event it thinks was not received: the same id, signed again. */
async function replay(world: World, person: Person): Promise<boolean> {
  if (world.events.length === 0) return buy(world, person);
  return deliver(world, pick(person.random, world.events), 1);
}

const operations: [number, (world: World, person: Person) => Promise<boolean>][] = [
  [6, chat],
  [1, askAgain],
  [2, buy],
  [1, refund],
  [1, replay],
];
const totalWeight = operations.reduce((sum, [weight]) => sum + weight, 0);

function chooseOperation(random: () => number) {
  let roll = random() * totalWeight;
  for (const [weight, operation] of operations) {
    roll -= weight;
    if (roll < 0) return operation;
  }
  return chat;
}

/**
 * One person's life until the world stops or `maxOperations` ran. After a request that found no
 * server (or a 5xx), a short pause, so an outage is not spent spinning on refused connections.
 */
export async function live(world: World, person: Person, maxOperations: number): Promise<number> {
  let done = 0;
  while (!world.stopping && done < maxOperations) {
    const succeeded = await chooseOperation(person.random)(world, person);
    done += 1;
    await sleep(succeeded ? between(person.random, 0, 150) : between(person.random, 150, 400));
  }
  return done;
}
