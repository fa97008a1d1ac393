"""Short-lived signed links to the secure payment page.

Card numbers are never taken in chat or by SMS (RULES.md): the bot sends a
link; the page behind it (a placeholder for the issuer's PCI-scoped payment
service) knows which account from the signed token, which expires quickly.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta

LINK_TTL = timedelta(minutes=30)


class InvalidPaymentLink(ValueError):
    """The token is malformed, tampered with or expired."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, payload: str) -> str:
    return _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())


def make_token(secret: str, account_id: int, now: datetime, ttl: timedelta = LINK_TTL) -> str:
    payload = _b64(json.dumps({"a": account_id, "e": int((now + ttl).timestamp())}).encode())
    return f"{payload}.{_sign(secret, payload)}"


def read_token(secret: str, token: str, now: datetime) -> int:
    """The account id in a valid, unexpired token.

    Raises:
        InvalidPaymentLink: if the token is malformed, forged or expired.
    """
    payload, _, signature = token.partition(".")
    expected = _sign(secret, payload).encode()
    if not payload or not hmac.compare_digest(signature.encode("utf-8", "replace"), expected):
        raise InvalidPaymentLink("bad signature")
    try:
        data = json.loads(_unb64(payload))
        account_id, expires = int(data["a"]), int(data["e"])
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidPaymentLink("malformed token") from error
    if now.timestamp() > expires:
        raise InvalidPaymentLink("expired")
    return account_id


def payment_link(base_url: str, secret: str, account_id: int, now: datetime) -> str:
    return f"{base_url.rstrip('/')}/pay/{make_token(secret, account_id, now)}"
