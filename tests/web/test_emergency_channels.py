"""Issue 10 blocker 1 on the phone and by e-mail: a caller in an emergency hears 119 read out (twice) before the call
is transferred, a caller in a crisis hears the 24-hour lines; an emergency e-mail left unclaimed past its deadline
gets a holding mail that carries the numbers (real aiosmtpd endpoints in and out; the SLA watcher's clock moved)."""
from __future__ import annotations

import smtplib
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest
from fastapi.testclient import TestClient

from channels.email import EmailAdapter, SmtpSettings
from channels.voice import CallScript, VoiceAdapter
from conversations.outbox_sender import OutboxSender
from madoguchi.app import create_app
from madoguchi.background import sla_watcher
from storage.testing import temporary_database
from tests.channels.fakes import FakeTwilioApi
from tests.channels.test_email import SmtpSink
from tests.channels.wiring import (
    PUBLIC_BASE, TWILIO_AUTH, TWILIO_SID, escalation_rows, loop_settings, make_services, running_loops, tenant_channels, wait_until,
)
from tests.web.test_webhooks_voice import BASE, post

OPERATOR = "+81353207725"
CITY = "soudan@city.example.lg.jp"


@pytest.fixture
def voice_client(tmp_path):
    script = CallScript(office="東京都", operator_number=OPERATOR, hours="平日 9:00〜17:00")
    with FakeTwilioApi(TWILIO_SID, TWILIO_AUTH) as twilio_api, temporary_database("sqlite", tmp_path) as db:
        adapter = VoiceAdapter("tokyo", TWILIO_SID, TWILIO_AUTH, public_base_url=PUBLIC_BASE, script=script,
                               api_base_url=twilio_api.url)
        # A generous wait for the turn: the machine may be busy, and a hold would hide what is said.
        services = make_services(db, tmp_path, channels={"tokyo": tenant_channels("tokyo", {"voice": adapter})},
                                 settings=loop_settings(voice_wait_s=15))
        with TestClient(create_app(services, start_background=False)) as client, running_loops(services):
            yield client


def said(root: ET.Element) -> list[str]:
    return [e.text or "" for e in root.iter("Say")]


def test_an_emergency_caller_hears_119_twice_then_is_transferred(voice_client):
    root = post(voice_client, f"{BASE}/gather?step=1", SpeechResult="父が急に胸を押さえて苦しんでいます",
                Confidence="0.9")
    spoken = said(root)
    assert sum("119" in line or "いちいちきゅう" in line for line in spoken) >= 2, spoken
    assert root.find("Dial") is not None and root.find("Dial").text == OPERATOR
    assert spoken.index(next(s for s in spoken if "119" in s or "いちいちきゅう" in s)) == 0, "the numbers come first"


def test_a_caller_in_crisis_hears_the_24_hour_lines(voice_client):
    root = post(voice_client, f"{BASE}/gather?step=1", SpeechResult="もう生きているのがつらい。消えてしまいたい",
                Confidence="0.9")
    spoken = " ".join(said(root))
    assert "よりそいホットライン" in spoken and "いのちの電話" in spoken
    assert root.find("Dial") is not None


@pytest.fixture
def sink():
    with SmtpSink() as running:
        yield running


def test_an_unclaimed_emergency_mail_gets_a_holding_mail_with_the_numbers(db, tmp_path, sink):
    adapter = EmailAdapter("tokyo", CITY, SmtpSettings(host="127.0.0.1", port=sink.controller.port))
    services = make_services(db, tmp_path, channels={"tokyo": tenant_channels("tokyo", {"email": adapter})})
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "taro@example.jp", CITY, "助けてください"
    mail["Message-ID"] = "<emergency-1@example.jp>"
    mail.set_content("父が急に胸を押さえて苦しんでいます。どうすればいいですか。")
    with running_loops(services):
        gateway = services.runtime.email_gateway.smtp
        with smtplib.SMTP(gateway.host, gateway.port, timeout=10) as client:
            client.sendmail("taro@example.jp", [CITY], mail.as_bytes())
        wait_until(lambda: sink.received, what="the first reply")
        [handover] = escalation_rows(db)
        assert handover.risk == "emergency"
        moved = datetime.now(timezone.utc) + timedelta(minutes=3)
        assert sla_watcher(services, clock=lambda: moved).sweep().holding_sent == [handover.id]
        OutboxSender(services, "emergency-mail-test").run_once()
        wait_until(lambda: len(sink.received) == 2, what="the holding mail")
    bodies = [BytesParser(policy=policy.default).parsebytes(raw).get_body(("plain",)).get_content()
              for _, _, raw in sink.received]
    assert "119" in bodies[0]
    holding = bodies[1]
    for number in ("119", "110", "#7119"):
        assert number in holding
    assert "都民の声総合窓口" not in holding


def test_without_an_operator_line_the_numbers_are_read_and_the_call_ends():
    root = ET.fromstring(CallScript(office="東京都").urgent("119（消防・救急）\n緊急の場合は今すぐお電話ください。"))
    spoken = said(root)
    assert len(spoken) == 2 and all("119" in line or "いちいちきゅう" in line for line in spoken)
    assert root.find("Dial") is None and root.find("Enqueue") is None and root.find("Hangup") is not None
