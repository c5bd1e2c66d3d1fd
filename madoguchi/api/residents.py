"""The web chat's resident identity: a random bearer token the page keeps in localStorage, never personal data.

The token itself is a secret the database never sees: conversations record `sender_for(token)`, a keyed hash,
so someone who can read the database cannot post as a resident. The page sends the token in a header (not a
cookie), so another site cannot make a resident's browser post to the API on their behalf.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets

TOKEN_HEADER = "X-Resident-Token"
# token_urlsafe(32) gives 43 characters; accept a little either way but nothing that is not base64url.
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


def new_resident_token() -> str:
    return secrets.token_urlsafe(32)


def is_well_formed(token: str | None) -> bool:
    return bool(token) and _TOKEN_SHAPE.match(token) is not None


def sender_for(token: str, secret_key: str) -> str:
    """The resident's address on the web channel: stable per token, not reversible to it."""
    digest = hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()
    return f"web-{digest[:40]}"


def external_id_for(sender: str, client_message_id: str) -> str:
    """Scoped by the session, so two residents' page-made ids never collide in the inbox."""
    return f"{sender}:{client_message_id}"
