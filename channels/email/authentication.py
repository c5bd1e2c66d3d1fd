"""Who sent a mail, and so who may be answered (issue 14 item 3: the city's address must not mail third parties).

A mail is *authenticated* when its From domain vouches for it: a valid DKIM signature whose d= domain is aligned
with the From domain as DMARC defines alignment (relaxed: the same organisational domain; strict, when the From
domain's DMARC record says adkim=s: the same domain), or, behind a receiving MTA the deployment trusts, that MTA's
Authentication-Results saying dmarc=pass. Which check runs is the tenant's choice (`email: {sender_authentication:
dkim | off, trusted_authserv_id: mx.city.example.jp}`); off, no mail counts as authenticated.

Who is answered (answer_address):
  - the From address;
  - the Reply-To instead only when it is in From's own organisational domain, or the mail is authenticated;
  - with sender_authentication on, an unauthenticated mail is not answered at all (stored for an operator:
    do_not_answer, reason "unauthenticated-sender") — its From may be a forged third party's.
A reply to an unauthenticated sender never quotes the links it was sent (quoting.strip_links).

DNS goes through a TxtResolver (dnspython by default); tests hand in a resolver of their own, so nothing here
needs the network to be tested. Organisational domains are approximated without the Public Suffix List: the last
two labels, or three under a known two-label suffix (co.jp, lg.jp, co.uk, …).
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from email.message import Message
from typing import Protocol

log = logging.getLogger(__name__)

MODES = ("off", "dkim")
TWO_LABEL_SUFFIXES = frozenset({
    "co.jp", "or.jp", "ne.jp", "ac.jp", "ad.jp", "ed.jp", "go.jp", "gr.jp", "lg.jp",
    "co.uk", "org.uk", "ac.uk", "gov.uk", "com.au", "net.au", "org.au", "co.kr", "or.kr", "com.cn", "com.tw",
})
DKIM_DOMAIN = re.compile(rb"(?:^|;)\s*d\s*=\s*([^;\s]+)", re.IGNORECASE)


class TxtResolver(Protocol):
    def txt(self, name: str) -> list[str]:
        """The TXT strings of `name` (each record's strings joined); [] when there is none."""
        ...


class DnsResolver:
    """The system's resolver through dnspython, with a short timeout (a slow DNS must not hold a mail)."""

    def __init__(self, timeout_s: float = 5.0) -> None:
        self.timeout_s = timeout_s

    def txt(self, name: str) -> list[str]:
        import dns.exception  # loaded when a deployment turns the check on
        import dns.resolver

        try:
            answer = dns.resolver.resolve(name, "TXT", lifetime=self.timeout_s)
        except (dns.exception.DNSException, OSError):
            return []
        return [b"".join(record.strings).decode("utf-8", "replace") for record in answer]


@dataclass(frozen=True)
class SenderCheck:
    authenticated: bool
    how: str  # "dkim=pass d=example.jp (aligned)", "dkim=fail", "dmarc=pass by mx.city.example.jp", "off"


def organisational_domain(domain: str) -> str:
    labels = domain.lower().strip(".").split(".")
    keep = 3 if ".".join(labels[-2:]) in TWO_LABEL_SUFFIXES else 2
    return ".".join(labels[-keep:])


def domain_of(address: str) -> str:
    return address.rsplit("@", 1)[-1].lower().strip(".") if "@" in address else ""


def aligned(signing_domain: str, from_domain: str, *, strict: bool) -> bool:
    signing_domain, from_domain = signing_domain.lower().strip("."), from_domain.lower().strip(".")
    if strict:
        return signing_domain == from_domain
    return bool(from_domain) and organisational_domain(signing_domain) == organisational_domain(from_domain)


def dmarc_strict_dkim(resolver: TxtResolver, from_domain: str) -> bool:
    """adkim=s in the From domain's DMARC record (or its organisational domain's)."""
    for name in dict.fromkeys((from_domain, organisational_domain(from_domain))):
        for record in resolver.txt(f"_dmarc.{name}"):
            if record.lower().startswith("v=dmarc1"):
                tags = dict(part.strip().split("=", 1) for part in record.split(";") if "=" in part)
                return tags.get("adkim", "r").strip().lower() == "s"
    return False


def _dkim_signing_domains(raw: bytes) -> list[str]:
    domains = []
    for line in _dkim_headers(raw):
        match = DKIM_DOMAIN.search(line)
        if match:
            domains.append(match.group(1).decode("ascii", "replace"))
    return domains


def _dkim_headers(raw: bytes) -> list[bytes]:
    head = raw.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[0]
    unfolded = re.sub(rb"\r?\n[ \t]+", b" ", head)
    return [line.split(b":", 1)[1] for line in unfolded.splitlines()
            if line.lower().startswith(b"dkim-signature:")]


def verify_dkim(raw: bytes, resolver: TxtResolver) -> bool:
    """dkimpy's verification of the first signature, its key looked up through `resolver`."""
    import dkim  # loaded when a deployment turns the check on

    def dnsfunc(name: bytes | str, timeout: float = 5) -> bytes:
        name = name.decode() if isinstance(name, bytes) else name
        records = resolver.txt(name.rstrip("."))
        return records[0].encode() if records else b""

    try:
        return bool(dkim.verify(raw, dnsfunc=dnsfunc))
    except Exception as exc:  # noqa: BLE001 - any malformed signature is simply not a pass
        log.info("DKIM verification failed: %s", exc)
        return False


def check_dkim(raw: bytes, from_domain: str, resolver: TxtResolver) -> SenderCheck:
    domains = _dkim_signing_domains(raw)
    if not domains:
        return SenderCheck(False, "dkim=none")
    if not verify_dkim(raw, resolver):
        return SenderCheck(False, f"dkim=fail d={domains[0]}")
    strict = dmarc_strict_dkim(resolver, from_domain)
    if not aligned(domains[0], from_domain, strict=strict):
        return SenderCheck(False, f"dkim=pass d={domains[0]} (not aligned with {from_domain})")
    return SenderCheck(True, f"dkim=pass d={domains[0]} (aligned{', strict' if strict else ''})")


def trusted_dmarc_pass(msg: Message, authserv_id: str) -> bool:
    """Authentication-Results added by the deployment's own receiving MTA (the first one: the nearest hop)."""
    for value in msg.get_all("Authentication-Results") or []:
        text = str(value).strip()
        server = text.split(";", 1)[0].strip().split()[0].lower() if text else ""
        if server == authserv_id.lower():
            return bool(re.search(r"(?:^|;)\s*dmarc\s*=\s*pass\b", text, re.IGNORECASE))
    return False


@dataclass(frozen=True)
class SenderAuthentication:
    """The tenant's choice of check; `resolver` is where DNS is asked (tests: one of their own)."""
    mode: str = "off"
    trusted_authserv_id: str | None = None
    resolver: TxtResolver | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"email sender_authentication must be one of {MODES}, not {self.mode!r}")

    @property
    def required(self) -> bool:
        return self.mode != "off"

    def check(self, raw: bytes, msg: Message, sender: str) -> SenderCheck:
        if not self.required:
            return SenderCheck(False, "off")
        if self.trusted_authserv_id and trusted_dmarc_pass(msg, self.trusted_authserv_id):
            return SenderCheck(True, f"dmarc=pass by {self.trusted_authserv_id}")
        return check_dkim(raw, domain_of(sender), self.resolver or DnsResolver())


def answer_address(sender: str, reply_to: str | None, authenticated: bool) -> str:
    """The From address, or the Reply-To when it stays in From's organisational domain or the mail is
    authenticated: an unauthenticated mail never makes the city write to a third party's domain."""
    if not reply_to or reply_to == sender:
        return sender
    same_organisation = organisational_domain(domain_of(reply_to)) == organisational_domain(domain_of(sender))
    return reply_to if same_organisation or authenticated else sender

