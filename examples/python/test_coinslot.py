"""Runs the client and the example against a real Coinslot (test/examples-python.test.ts starts one):

    COINSLOT_URL=http://127.0.0.1:3000 COINSLOT_SERVICE_KEY=csk_test_... \
    COINSLOT_RETURN_URL=https://app.example.com/credits COINSLOT_RUN=any-unique-prefix \
    python3 -m unittest -v test_coinslot.py

The server must give new customers 50 cents (NEW_USER_CREDITS_CENTS=50) and allow the return URL's origin
(CHECKOUT_RETURN_ORIGINS). Customers are named after COINSLOT_RUN, so runs never meet.
"""

import hashlib
import hmac
import os
import sys
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from coinslot import Coinslot, CoinslotError, InsufficientCredits, verify_webhook  # noqa: E402
from example import MAX_PRICE_CENTS, write_prompt  # noqa: E402

URL = os.environ.get("COINSLOT_URL", "")
KEY = os.environ.get("COINSLOT_SERVICE_KEY", "")
RETURN_URL = os.environ.get("COINSLOT_RETURN_URL", "")
RUN = os.environ.get("COINSLOT_RUN") or uuid.uuid4().hex[:12]
STARTER_CENTS = 50


def customer_id(name):
    return f"{RUN}-{name}"


class AgainstServer(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not (URL and KEY and RETURN_URL):
            raise RuntimeError("Set COINSLOT_URL, COINSLOT_SERVICE_KEY and COINSLOT_RETURN_URL (see this file's docstring).")
        cls.coinslot = Coinslot(URL, KEY)

    def new_customer(self, name):
        identifier = customer_id(name)
        created = self.coinslot.upsert_customer(identifier, f"{identifier}@example.com", name.title())
        self.assertEqual(created["availableCents"], STARTER_CENTS)
        return identifier

    def test_customer_is_created_once(self):
        identifier = self.new_customer("once")
        again = self.coinslot.upsert_customer(identifier, f"{identifier}@example.com")
        self.assertEqual(again["balanceCents"], STARTER_CENTS)
        self.assertEqual(self.coinslot.customer(identifier)["id"], identifier)

    def test_hold_then_settle_charges_the_real_price(self):
        identifier = self.new_customer("settle")
        hold = self.coinslot.hold(identifier, 20, "h-1", description="poem")
        self.assertEqual(self.coinslot.customer(identifier)["heldCents"], 20)
        self.assertEqual(self.coinslot.settle(hold["id"], 13), {"chargedCents": 13, "releasedCents": 7, "balanceCents": 37})
        # The same settle again answers the first result; a release after it is refused.
        self.assertEqual(self.coinslot.settle(hold["id"], 13)["chargedCents"], 13)
        with self.assertRaises(CoinslotError) as refused:
            self.coinslot.release(hold["id"])
        self.assertEqual((refused.exception.code, refused.exception.status), ("HOLD_NOT_OPEN", 409))
        replay = self.coinslot.hold(identifier, 20, "h-1", description="poem")
        self.assertEqual(replay["id"], hold["id"])

    def test_release_frees_the_hold(self):
        identifier = self.new_customer("release")
        hold = self.coinslot.hold(identifier, 30, "h-1", ttl_seconds=60)
        self.coinslot.release(hold["id"])
        self.assertEqual(self.coinslot.customer(identifier)["availableCents"], STARTER_CENTS)

    def test_charge_is_idempotent(self):
        identifier = self.new_customer("charge")
        first = self.coinslot.charge(identifier, 4, "img-1", "one image")
        self.assertEqual(self.coinslot.charge(identifier, 4, "img-1", "one image")["entryId"], first["entryId"])
        self.assertEqual(self.coinslot.customer(identifier)["balanceCents"], STARTER_CENTS - 4)
        with self.assertRaises(CoinslotError) as reused:
            self.coinslot.charge(identifier, 5, "img-1", "one image")
        self.assertEqual((reused.exception.code, reused.exception.status), ("IDEMPOTENCY_KEY_REUSED", 409))

    def test_out_of_credit_raises_insufficient_credits(self):
        identifier = self.new_customer("broke")
        with self.assertRaises(InsufficientCredits) as refused:
            self.coinslot.hold(identifier, STARTER_CENTS + 1, "too-much")
        error = refused.exception
        self.assertEqual((error.code, error.status), ("INSUFFICIENT_CREDITS", 402))
        self.assertEqual((error.needed_cents, error.available_cents), (STARTER_CENTS + 1, STARTER_CENTS))
        self.assertIn("buy credits", error.message)

    def test_errors_carry_the_servers_code(self):
        with self.assertRaises(CoinslotError) as missing:
            self.coinslot.customer(customer_id("nobody"))
        self.assertEqual((missing.exception.code, missing.exception.status), ("CUSTOMER_NOT_FOUND", 404))
        with self.assertRaises(CoinslotError) as unauthorised:
            Coinslot(URL, "csk_test_" + "x" * 43).customer(customer_id("nobody"))
        self.assertEqual((unauthorised.exception.code, unauthorised.exception.status), ("INVALID_SERVICE_KEY", 401))
        with self.assertRaises(CoinslotError) as invalid:
            self.coinslot.hold(customer_id("nobody"), -1, "negative")
        self.assertEqual(invalid.exception.status, 400)
        with self.assertRaises(CoinslotError) as offline:
            Coinslot("http://127.0.0.1:9", KEY, timeout_seconds=2).customer("x")
        self.assertEqual(offline.exception.code, "NETWORK")

    def test_checkout_refuses_a_foreign_return_url(self):
        identifier = self.new_customer("foreign")
        with self.assertRaises(CoinslotError) as refused:
            self.coinslot.checkout_url(identifier, 500, "https://evil.example.net/steal")
        self.assertEqual((refused.exception.code, refused.exception.status), ("RETURN_URL_NOT_ALLOWED", 400))

    def test_the_example_writes_prompts_until_the_user_must_buy(self):
        user = {"id": customer_id("writer"), "email": f"{customer_id('writer')}@example.com", "name": "Writer"}
        charged = []
        for topic in ["the sea", "tea", "autumn", "stars", "a ledger", "owls", "rain", "bread"]:
            answer = write_prompt(self.coinslot, user, topic, RETURN_URL)
            if "checkout_url" in answer:
                break
            self.assertIn(topic, answer["text"])
            charged.append(answer["charged_cents"])
        else:
            self.fail("50 cents should not cover eight generations")
        self.assertLess(answer["available_cents"], MAX_PRICE_CENTS)
        self.assertIn("/checkout/", answer["checkout_url"])
        entries = self.coinslot.entries(user["id"], limit=50)["entries"]
        usage = sorted(-entry["amountCents"] for entry in entries if entry["kind"] == "usage")
        self.assertEqual(usage, sorted(charged))
        self.assertEqual(self.coinslot.customer(user["id"])["balanceCents"], STARTER_CENTS - sum(charged))


class Webhooks(unittest.TestCase):
    secret = "whsec_example"
    body = b'{"type":"credits.purchased","data":{"customer":"u_42"}}'

    def header(self, timestamp, secret=None):
        signed = str(timestamp).encode("ascii") + b"." + self.body
        digest = hmac.new((secret or self.secret).encode("utf-8"), signed, hashlib.sha256).hexdigest()
        return f"t={timestamp},v1={digest}"

    def test_accepts_a_fresh_signature(self):
        event = verify_webhook(self.body, self.header(int(time.time())), self.secret)
        self.assertEqual(event["type"], "credits.purchased")

    def test_refuses_another_secret_a_changed_body_and_an_old_timestamp(self):
        now = int(time.time())
        for payload, header in [
            (self.body, self.header(now, "whsec_other")),
            (self.body.replace(b"u_42", b"u_43"), self.header(now)),
            (self.body, self.header(now - 3600)),
            (self.body, "v1=abc"),
        ]:
            with self.assertRaises(CoinslotError):
                verify_webhook(payload, header, self.secret)


if __name__ == "__main__":
    unittest.main(verbosity=2)
