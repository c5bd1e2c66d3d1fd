"""Rate limits at the HTTP door of the web chat and the Rasa REST channel (the rule: conversations/rate_limits.py).

    enforce_message(services, request, tenant, sender=…, text=…)   # a new question: per resident and per address
    enforce_new_session(services, request, tenant)                  # a new web chat session: per address

Past a limit the request is refused with 429, `Retry-After`, and a polite reply in the resident's language
(`RateLimited.reply`: the tenant's `rate_limited` template, which a city may override); the message is not
recorded, so nothing is lost that the resident does not see refused. The source address is the peer's, or, when
the peer is one of `MADOGUCHI_TRUSTED_PROXIES` (the reverse proxy), the last address it appended to
X-Forwarded-For.
"""
from __future__ import annotations

import ipaddress
import math
from typing import Any

from fastapi import HTTPException, Request
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.settings import from_environment
from config.tenancy import Tenant
from conversations.rate_limits import ADDRESS, RESIDENT, Decision, counted, hit, limits_for
from dialogue.compose import Composer
from dialogue.language import detect_language
from madoguchi.composition import Services

_COMPOSERS: dict[str, Composer] = {}
LANGUAGES = ("ja", "en", "zh", "ko")


class ProxySettings(BaseSettings):
    """Environment: MADOGUCHI_TRUSTED_PROXIES=127.0.0.1,10.0.0.0/8 (the reverse proxy's addresses or networks)."""

    model_config = SettingsConfigDict(env_prefix="MADOGUCHI_", extra="ignore")

    trusted_proxies: str = ""

    def trusts(self, address: str) -> bool:
        entries = [part.strip() for part in self.trusted_proxies.split(",") if part.strip()]
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return address in entries  # a peer named, not numbered (a unix socket, a test client)
        return any(_network(entry) is not None and ip in _network(entry) for entry in entries)


def _network(entry: str) -> Any:
    try:
        return ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return None


class RateLimited(HTTPException):
    def __init__(self, reply: str, decision: Decision, language: str) -> None:
        retry = max(1, math.ceil(decision.retry_after_s))
        super().__init__(429, reply, headers={"Retry-After": str(retry)})
        self.reply, self.language, self.retry_after_s = reply, language, retry


def client_address(request: Request, proxies: ProxySettings | None = None) -> str:
    proxies = proxies or from_environment(ProxySettings)
    peer = request.client.host if request.client else "unknown"
    if not proxies.trusts(peer):
        return peer
    forwarded = [part.strip() for part in request.headers.get("x-forwarded-for", "").split(",") if part.strip()]
    for address in reversed(forwarded):  # the proxy appends the peer it saw; anything left of it is hearsay
        if not proxies.trusts(address):
            return address
    return peer


def enforce_message(services: Services, request: Request, tenant: Tenant, *, sender: str, text: str,
                    channel: str) -> None:
    limits = limits_for(tenant.raw)
    language = detect_language(text, default=tenant.get("language", "ja"))
    checks = ((RESIDENT, sender, limits.resident_per_minute),
              (ADDRESS, client_address(request), limits.address_per_minute))
    _enforce(services, tenant, channel, checks, language)


def enforce_new_session(services: Services, request: Request, tenant: Tenant, channel: str) -> None:
    limits = limits_for(tenant.raw)
    checks = ((ADDRESS, f"session:{client_address(request)}", limits.conversations_per_minute),)
    _enforce(services, tenant, channel, checks, _accepted_language(request, tenant))


def _enforce(services: Services, tenant: Tenant, channel: str, checks: tuple[tuple[str, str, int], ...],
             language: str) -> None:
    with services.db.transaction() as conn:
        for scope, who, per_minute in checks:
            decision = hit(conn, scope, tenant=tenant.id, who=who, per_minute=per_minute)
            if not decision.allowed:
                counted(tenant.id, channel, scope, "refused")
                raise RateLimited(polite_reply(services, tenant, language, decision), decision, language)


def polite_reply(services: Services, tenant: Tenant, language: str, decision: Decision) -> str:
    composer = _COMPOSERS.get(tenant.id)
    if composer is None or composer.tenant is not tenant:
        composer = _COMPOSERS[tenant.id] = Composer(tenant, tenants_dir=services.settings.tenants_dir)
    return composer.render("rate_limited", language, retry_after=max(1, math.ceil(decision.retry_after_s)),
                           per_minute=decision.limit)


def _accepted_language(request: Request, tenant: Tenant) -> str:
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return tenant.get("language", "ja")
