"""A small client for Coinslot's metering API (/v1), using only Python's standard library.

    from coinslot import Coinslot, InsufficientCredits

    coinslot = Coinslot("http://localhost:3000", os.environ["COINSLOT_SERVICE_KEY"])
    coinslot.upsert_customer("u_42", "ada@example.com", "Ada")
    hold = coinslot.hold("u_42", 20, idempotency_key="gen-7781", description="poem")
    coinslot.settle(hold["id"], 13)

Every failure is a CoinslotError with the server's stable code (recognise errors by `code`); a 402 is
InsufficientCredits, which also says how many cents were needed and how many are available.
"""

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.parse
import urllib.request

__all__ = ["Coinslot", "CoinslotError", "InsufficientCredits", "verify_webhook"]

# A model call's backend should not hang on its credits service: every request gives up after this.
DEFAULT_TIMEOUT_SECONDS = 10.0
# Stripe's default: an older signed delivery is treated as a replay.
WEBHOOK_TOLERANCE_SECONDS = 300


class CoinslotError(Exception):
    """The server's `{"error": {"code", "message", ...}}`, or NETWORK / UNRECOGNISED (status 0 or the
    HTTP status) when there was no such body. `details` holds the error's other fields."""

    def __init__(self, code, message, status, details=None):
        super().__init__(f"{code} ({status}): {message}")
        self.code = code
        self.message = message
        self.status = status
        self.details = details or {}


class InsufficientCredits(CoinslotError):
    """402 INSUFFICIENT_CREDITS: the customer must buy credits (see Coinslot.checkout_url)."""

    def __init__(self, code, message, status, details=None):
        super().__init__(code, message, status, details)
        self.needed_cents = self.details.get("neededCents")
        self.available_cents = self.details.get("availableCents")


def _error_from(status, text):
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("code"), str):
        snippet = (text or "").strip()[:200] or "(empty body)"
        return CoinslotError("UNRECOGNISED", f"Coinslot answered {status} without an error body: {snippet}", status)
    details = {key: value for key, value in error.items() if key not in ("code", "message")}
    kind = InsufficientCredits if status == 402 else CoinslotError
    return kind(error["code"], str(error.get("message", "")), status, details)


class Coinslot:
    """One app's service key against one Coinslot server. Amounts are integer cents."""

    def __init__(self, base_url, service_key, timeout_seconds=DEFAULT_TIMEOUT_SECONDS):
        if not service_key or not service_key.startswith("csk_"):
            raise ValueError("service_key must be a Coinslot service key secret (csk_test_... or csk_live_...)")
        self.base_url = base_url.rstrip("/")
        self.service_key = service_key
        self.timeout_seconds = timeout_seconds

    def upsert_customer(self, customer_id, email, name=None):
        """Creates your user as they connect (with the starter credits, once), or returns them."""
        body = {"email": email} if name is None else {"email": email, "name": name}
        return self._request("PUT", f"/v1/customers/{_segment(customer_id)}", body)

    def customer(self, customer_id):
        """{id, email, balanceCents, heldCents, availableCents}; 404 CUSTOMER_NOT_FOUND if never created."""
        return self._request("GET", f"/v1/customers/{_segment(customer_id)}")

    def entries(self, customer_id, limit=20, cursor=None):
        """One page of the customer's ledger, newest first: {entries, nextCursor}."""
        query = {"limit": limit} if cursor is None else {"limit": limit, "cursor": cursor}
        path = f"/v1/customers/{_segment(customer_id)}/entries?{urllib.parse.urlencode(query)}"
        return self._request("GET", path)

    def hold(self, customer, amount_cents, idempotency_key, description=None, ttl_seconds=None):
        """Reserves the most a call can cost: {id, amountCents, expiresAt, status}, or InsufficientCredits."""
        body = {"customer": customer, "amountCents": amount_cents}
        if description is not None:
            body["description"] = description
        if ttl_seconds is not None:
            body["ttlSeconds"] = ttl_seconds
        return self._request("POST", "/v1/holds", body, idempotency_key)

    def settle(self, hold_id, amount_cents):
        """Charges the real price (at most the held amount) and frees the rest."""
        return self._request("POST", f"/v1/holds/{_segment(hold_id)}/settle", {"amountCents": amount_cents})

    def release(self, hold_id):
        """Frees the whole hold, for a call that failed or was cancelled."""
        return self._request("POST", f"/v1/holds/{_segment(hold_id)}/release")

    def charge(self, customer, amount_cents, idempotency_key, description):
        """A direct charge for a price known up front (POST /v1/usage)."""
        body = {"customer": customer, "amountCents": amount_cents, "description": description}
        return self._request("POST", "/v1/usage", body, idempotency_key)

    def checkout_url(self, customer, amount_cents, return_url, idempotency_key=None):
        """Where to send your user to buy credits; they come back to return_url (which must be on the
        server's CHECKOUT_RETURN_ORIGINS) with checkout=success or checkout=cancel added."""
        body = {"customer": customer, "amountCents": amount_cents, "returnUrl": return_url}
        return self._request("POST", "/v1/checkout", body, idempotency_key)["url"]

    def _request(self, method, path, body=None, idempotency_key=None):
        headers = {"Authorization": f"Bearer {self.service_key}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
                text = response.read().decode("utf-8")
        except urllib.error.HTTPError as error:
            raise _error_from(error.code, error.read().decode("utf-8", "replace")) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            reason = getattr(error, "reason", error)
            message = f"Could not reach Coinslot at {self.base_url}: {reason}. Is the server running?"
            raise CoinslotError("NETWORK", message, 0) from error
        return json.loads(text) if text else None


def _segment(value):
    # Ids go into the path: quote everything, so an id can never reach another route.
    return urllib.parse.quote(str(value), safe="")


def verify_webhook(payload, signature_header, secret, tolerance_seconds=WEBHOOK_TOLERANCE_SECONDS, now=None):
    """Checks a `Coinslot-Signature: t=...,v1=...` header the way Stripe's are checked: HMAC-SHA256 of
    "<t>.<raw body>" with the endpoint's secret, compared in constant time, t within the tolerance.
    Pass the raw bytes you received, not parsed and re-serialised JSON. Returns the parsed event."""
    raw = payload if isinstance(payload, bytes) else payload.encode("utf-8")
    parts = [part.split("=", 1) for part in (signature_header or "").split(",") if "=" in part]
    timestamps = [value for key, value in parts if key.strip() == "t"]
    signatures = [value.strip() for key, value in parts if key.strip() == "v1"]
    if len(timestamps) != 1 or not timestamps[0].strip().isdigit() or not signatures:
        raise CoinslotError("INVALID_SIGNATURE", "The Coinslot-Signature header has no t=... and v1=... parts.", 0)
    timestamp = int(timestamps[0])
    signed = timestamps[0].strip().encode("ascii") + b"." + raw
    expected = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, signature) for signature in signatures):
        raise CoinslotError(
            "INVALID_SIGNATURE",
            "No signature matches. Are you passing the raw request body and this endpoint's secret?",
            0,
        )
    if abs((time.time() if now is None else now) - timestamp) > tolerance_seconds:
        raise CoinslotError("INVALID_SIGNATURE", "The signature's timestamp is outside the tolerance (a replay?).", 0)
    return json.loads(raw)
