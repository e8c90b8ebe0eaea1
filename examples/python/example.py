"""The tutorial's prompt-writing app, metered by Coinslot: each generation is paid from the user's credits.

    COINSLOT_URL=http://localhost:3000 COINSLOT_SERVICE_KEY=csk_test_... \
    COINSLOT_RETURN_URL=http://localhost:8501/credits python3 example.py

The flow, per request: create the customer as they connect, hold the most a generation can cost,
call the model, settle what it really cost (or release the hold if the call failed). When the
customer is out of credits, send them to the checkout URL; they come back to COINSLOT_RETURN_URL.
"""

import os
import uuid

from coinslot import Coinslot, InsufficientCredits

# What one generation can cost at most, and what a top-up buys; integer cents, never floats.
MAX_PRICE_CENTS = 20
TOP_UP_CENTS = 500


def call_model(topic):
    """Stands in for your model call: returns the text and what it really cost, in cents."""
    text = f"Write a vivid, three-line poem about {topic}, in the voice of a lighthouse keeper."
    return text, min(MAX_PRICE_CENTS, 5 + len(topic) // 2)


def write_prompt(coinslot, user, topic, return_url):
    """One request of the app. Returns {"text", "charged_cents"} or, when the user is out of
    credits, {"checkout_url", "needed_cents", "available_cents"}."""
    coinslot.upsert_customer(user["id"], user["email"], user.get("name"))
    # One key per user action: a retried request (a double click, a timeout) holds once.
    request_id = user.get("request_id") or uuid.uuid4().hex
    try:
        hold = coinslot.hold(user["id"], MAX_PRICE_CENTS, f"prompt-{request_id}", description=f"prompt: {topic}")
    except InsufficientCredits as refused:
        url = coinslot.checkout_url(user["id"], TOP_UP_CENTS, return_url)
        return {"checkout_url": url, "needed_cents": refused.needed_cents, "available_cents": refused.available_cents}
    try:
        text, cost_cents = call_model(topic)
    except Exception:
        # The model failed: the user pays nothing, and the reservation is freed now, not at its expiry.
        coinslot.release(hold["id"])
        raise
    settlement = coinslot.settle(hold["id"], cost_cents)
    return {"text": text, "charged_cents": settlement["chargedCents"]}


def main():
    coinslot = Coinslot(os.environ.get("COINSLOT_URL", "http://localhost:3000"), os.environ["COINSLOT_SERVICE_KEY"])
    return_url = os.environ.get("COINSLOT_RETURN_URL", "http://localhost:8501/credits")
    user = {"id": "u_42", "email": "ada@example.com", "name": "Ada"}
    for topic in ["the sea", "a ledger that never loses a cent", "tea", "autumn", "stars"] * 4:
        answer = write_prompt(coinslot, user, topic, return_url)
        if "checkout_url" in answer:
            print(f"Out of credits ({answer['available_cents']} cents left). Buy more: {answer['checkout_url']}")
            return
        print(f"[{answer['charged_cents']} cents] {answer['text']}")
    print(f"Balance: {coinslot.customer(user['id'])['availableCents']} cents")


if __name__ == "__main__":
    main()
