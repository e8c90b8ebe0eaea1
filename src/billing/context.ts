import type { Dependencies } from "../dependencies.js";
import type { Stripe } from "./stripe.js";

/** What billing needs from the app: the shared dependencies, plus the Stripe client when configured. */
export type BillingContext = Dependencies & { stripe: Stripe | undefined };
