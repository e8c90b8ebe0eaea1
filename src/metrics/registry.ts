import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/**
 * The process's Prometheus metrics. Capabilities record through the helpers below rather than
 * touching prom-client, so label names stay consistent and bounded (no user ids, no raw paths).
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: "coinslot_" });

export const httpRequests = new Histogram({
  name: "coinslot_http_request_duration_seconds",
  help: "HTTP requests by route pattern, method and status, with latency",
  labelNames: ["method", "route", "status"] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});

const ledgerOperations = new Counter({
  name: "coinslot_ledger_operations_total",
  help: "Ledger operations by operation and outcome (ok, replayed, or the error code)",
  labelNames: ["operation", "outcome"] as const,
  registers: [registry],
});

const webhookEvents = new Counter({
  name: "coinslot_stripe_webhook_events_total",
  help: "Stripe webhook events by type and outcome",
  labelNames: ["type", "outcome"] as const,
  registers: [registry],
});

/** Filled at scrape time by the metrics route, so it is always the database's truth. */
export const openHolds = new Gauge({
  name: "coinslot_open_holds",
  help: "Holds currently open, and their total in cents",
  labelNames: ["measure"] as const,
  registers: [registry],
});

export function recordLedgerOperation(operation: string, outcome: string): void {
  ledgerOperations.inc({ operation, outcome });
}

export function recordWebhookEvent(type: string, outcome: string): void {
  // Event types are Stripe's fixed vocabulary; anything unexpected is folded to keep labels bounded.
  const bounded = /^[a-z_.]{1,80}$/.test(type) ? type : "other";
  webhookEvents.inc({ type: bounded, outcome });
}
