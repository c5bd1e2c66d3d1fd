"""Who the city's address answers (issue 14 item 3) and mail that must not be dropped (item 4).

DKIM keys are made here, signatures made with dkimpy, and DNS answered by a resolver the test controls, so no
network is needed. The end-to-end tests run the real SMTP endpoint, the inbox worker and the outbox sender on
SQLite and PostgreSQL, with a second aiosmtpd server standing for everyone the city could write to.
"""
from __future__ import annotations

import base64
import smtplib
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from channels.email import EmailAdapter, SmtpSettings, parse_email
from channels.email.authentication import (
    SenderAuthentication, aligned, answer_address, organisational_domain,
)
from channels.email.quoting import LINK_REMOVED
from storage.schema import inbound_events
from tests.channels.test_email import SmtpSink
from tests.channels.wiring import count, make_services, running_loops, tenant_channels, wait_until

CITY = "soudan@city.example.lg.jp"
AMAGASAKI = "soudan@city.amagasaki.example.lg.jp"
ATTACKER_URL = "https://evil.example/phish?id=1"


class Resolver:
    """DNS as the test says it is: name → TXT strings. Records every question."""

    def __init__(self, records: dict[str, list[str]] | None = None) -> None:
        self.records = records or {}
        self.asked: list[str] = []

    def txt(self, name: str) -> list[str]:
        self.asked.append(name)
        return self.records.get(name.rstrip("."), [])


@pytest.fixture(scope="module")
def key():
    private = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    public = private.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem, f"v=DKIM1; k=rsa; p={base64.b64encode(public).decode()}"


def mail(sender: str, text: str, *, reply_to: str | None = None, message_id: str = "<m1@example.jp>",
         to: str = CITY, subject: str = "ごみの出し方", extra: dict[str, str] | None = None) -> bytes:
    message = EmailMessage(policy=policy.SMTP)
    message["From"], message["To"], message["Subject"], message["Message-ID"] = sender, to, subject, message_id
    if reply_to:
        message["Reply-To"] = reply_to
    for name, value in (extra or {}).items():
        message[name] = value
    message.set_content(text)
    return message.as_bytes()


def signed(raw: bytes, pem: bytes, domain: str, selector: str = "s1") -> bytes:
    return dkim.sign(raw, selector.encode(), domain.encode(), pem, include_headers=[b"from", b"to", b"subject"]) + raw


def checked(raw: bytes, resolver: Resolver, **options) -> dict:
    auth = SenderAuthentication(mode="dkim", resolver=resolver, **options)
    return parse_email(raw, "tokyo", authentication=auth).meta


# -- the rule -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sender, reply_to, authenticated, answered", [
    ("attacker@evil.example", "victim@third-party.example", False, "attacker@evil.example"),  # the probe
    ("taro@example.jp", "taro.work@example.jp", False, "taro.work@example.jp"),  # same domain
    ("taro@mail.example.jp", "taro@example.jp", False, "taro@example.jp"),  # same organisation
    ("taro@example.jp", "hanako@other.example", True, "hanako@other.example"),  # authenticated: as asked
    ("taro@example.jp", None, False, "taro@example.jp"),
    ("taro@a.co.jp", "x@b.co.jp", False, "taro@a.co.jp"),  # co.jp is a public suffix, not one organisation
])
def test_who_is_answered(sender, reply_to, authenticated, answered):
    assert answer_address(sender, reply_to, authenticated) == answered


def test_organisational_domains_and_alignment():
    assert organisational_domain("mail.city.example.lg.jp") == "example.lg.jp"
    assert organisational_domain("news.example.com") == "example.com"
    assert aligned("mail.example.jp", "example.jp", strict=False)
    assert not aligned("mail.example.jp", "example.jp", strict=True)
    assert not aligned("evil.example", "example.jp", strict=False)


def test_the_probes_mail_without_the_check_answers_the_from_address_and_quotes_no_link():
    raw = mail("attacker@evil.example", f"ごみの出し方は {ATTACKER_URL} を見てください",
               reply_to="victim@third-party.example", subject=f"ごみ {ATTACKER_URL}")
    event = parse_email(raw, "tokyo")
    assert event.meta["reply_to"] == "attacker@evil.example"
    assert event.meta["sender_authenticated"] is False and not event.meta["do_not_answer"]
    reply = EmailAdapter.reply_meta(event)
    assert ATTACKER_URL not in reply["quote"] and LINK_REMOVED in reply["quote"]
    assert "evil.example" not in reply["subject"]


# -- DKIM through a resolver the test controls ----------------------------------------------------------------------

def test_an_aligned_dkim_signature_authenticates_and_its_reply_to_is_answered(key):
    pem, record = key
    resolver = Resolver({"s1._domainkey.example.jp": [record]})
    raw = signed(mail("taro@example.jp", f"詳しくは {ATTACKER_URL}", reply_to="hanako@other.example"), pem,
                 "example.jp")
    meta = checked(raw, resolver)
    assert meta["sender_authenticated"] is True and "aligned" in meta["authentication"]
    assert meta["reply_to"] == "hanako@other.example" and not meta["do_not_answer"]
    assert "s1._domainkey.example.jp" in resolver.asked
    event = parse_email(raw, "tokyo", authentication=SenderAuthentication(mode="dkim", resolver=resolver))
    assert ATTACKER_URL in EmailAdapter.reply_meta(event)["quote"]  # an authenticated sender's own words


@pytest.mark.parametrize("attack", ["tampered body", "signed by another domain", "unsigned forgery",
                                    "strict policy, subdomain signature", "key not published",
                                    "attacker's own Authentication-Results"])
def test_forged_or_unaligned_mail_is_not_authenticated_and_not_answered(key, attack):
    pem, record = key
    resolver = Resolver({"s1._domainkey.example.jp": [record], "s1._domainkey.evil.example": [record],
                         "s1._domainkey.mail.example.jp": [record]})
    victim = "victim@example.jp"
    if attack == "tampered body":
        raw = signed(mail(victim, "pay to account 1111"), pem, "example.jp").replace(b"1111", b"9999")
    elif attack == "signed by another domain":
        raw = signed(mail(victim, "本文"), pem, "evil.example")
    elif attack == "unsigned forgery":
        raw = mail(victim, "本文")
    elif attack == "strict policy, subdomain signature":
        resolver.records["_dmarc.example.jp"] = ["v=DMARC1; p=reject; adkim=s"]
        raw = signed(mail(victim, "本文"), pem, "mail.example.jp")
    elif attack == "key not published":
        raw = signed(mail(victim, "本文"), pem, "example.jp", selector="gone")
    else:
        raw = mail(victim, "本文", extra={"Authentication-Results": "mx.evil.example; dmarc=pass"})
    meta = checked(raw, resolver, trusted_authserv_id="mx.city.example.lg.jp")
    assert meta["sender_authenticated"] is False, meta["authentication"]
    assert meta["do_not_answer"] and "unauthenticated-sender" in meta["auto_reasons"]


def test_the_deployments_own_mta_can_vouch_for_a_mail():
    raw = mail("taro@example.jp", "本文", extra={"Authentication-Results":
                                                 "mx.city.example.lg.jp; dkim=pass header.d=example.jp; dmarc=pass"})
    meta = checked(raw, Resolver(), trusted_authserv_id="mx.city.example.lg.jp")
    assert meta["sender_authenticated"] is True and not meta["do_not_answer"]


# -- end to end: the probe's attack and the dropped mail ------------------------------------------------------------

@pytest.fixture
def sink():
    with SmtpSink() as running:
        yield running


def gateway_services(db, tmp_path, sink, **tenants):
    channels = {tenant: tenant_channels(tenant, {"email": EmailAdapter(
        tenant, address, SmtpSettings(host="127.0.0.1", port=sink.controller.port))})
        for tenant, address in (tenants or {"tokyo": CITY}).items()}
    return make_services(db, tmp_path, channels=channels)


def send(services, raw: bytes, recipients: list[str], mail_from: str) -> None:
    smtp = services.runtime.email_gateway.smtp
    with smtplib.SMTP(smtp.host, smtp.port, timeout=10) as client:
        client.sendmail(mail_from, recipients, raw)


def test_the_city_never_writes_to_the_third_party_the_attacker_named(db, tmp_path, sink):
    services = gateway_services(db, tmp_path, sink)
    raw = mail("attacker@evil.example", f"担当者に伝えて: {ATTACKER_URL} を至急確認",
               reply_to="victim@third-party.example", subject="ごみの出し方")
    with running_loops(services):
        send(services, raw, [CITY], "attacker@evil.example")
        wait_until(lambda: sink.received, what="the reply")
    recipients = [rcpt for _, rcpts, _ in sink.received for rcpt in rcpts]
    assert recipients == ["attacker@evil.example"]
    reply = BytesParser(policy=policy.default).parsebytes(sink.received[0][2])
    assert "victim" not in reply["To"] and ATTACKER_URL not in reply.get_content()


def test_a_reused_message_id_is_stored_not_dropped(db, tmp_path, sink):
    """The probe: a second mail under a reused Message-ID got 250 and was never stored."""
    services = gateway_services(db, tmp_path, sink)
    first = mail("taro@example.jp", "粗大ごみの出し方は？", message_id="<reused@example.jp>")
    second = mail("hanako@example.jp", "資源ごみの日は？", message_id="<reused@example.jp>")
    with running_loops(services):
        send(services, first, [CITY], "taro@example.jp")
        send(services, second, [CITY], "hanako@example.jp")
        send(services, first, [CITY], "taro@example.jp")  # a true redelivery: recognised
        wait_until(lambda: len(sink.received) == 2, what="two replies")
    with db.read() as conn:
        senders = sorted(r.payload["sender"] for r in conn.execute(select(inbound_events)))
    assert senders == ["hanako@example.jp", "taro@example.jp"]
    assert sorted(r for _, rcpts, _ in sink.received for r in rcpts) == ["hanako@example.jp", "taro@example.jp"]


def test_one_mail_to_two_cities_is_recorded_for_each(db, tmp_path, sink):
    services = gateway_services(db, tmp_path, sink, tokyo=CITY, amagasaki=AMAGASAKI)
    raw = mail("taro@example.jp", "ごみの出し方は？", message_id="<both@example.jp>", to=f"{CITY}, {AMAGASAKI}")
    with running_loops(services):
        send(services, raw, [CITY, AMAGASAKI], "taro@example.jp")
        wait_until(lambda: count(db, inbound_events) == 2, what="both events")
    with db.read() as conn:
        tenants = sorted(conn.execute(select(inbound_events.c.tenant)).scalars())
    assert tenants == ["amagasaki", "tokyo"]


def test_a_mail_that_cannot_be_read_is_refused_with_a_reason(db, tmp_path, sink):
    services = gateway_services(db, tmp_path, sink)
    with running_loops(services):
        with pytest.raises(smtplib.SMTPDataError) as refused:
            send(services, b"Subject: no sender\r\n\r\nhello\r\n", [CITY], "x@example.jp")
    assert refused.value.smtp_code // 100 == 5 and b"From" in refused.value.smtp_error
    assert count(db, inbound_events) == 0
