"""Issue 10 blocker 1: an emergency or crisis hand-over left unclaimed gets its own holding message (the public
numbers again, in the resident's language), its own deadline (minutes, counted from now even at night), goes first,
and raises the supervisors (audit, Slack on a fake Slack API on loopback). The routine 都民の声総合窓口 text is never
sent to it. The watcher's clock is moved; nothing waits. SQLite and PostgreSQL.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from channels.registry import TenantChannels
from channels.slack import CLAIM_ACTION_ID, SlackAdapter
from config.tenancy import get_tenant, sla_minutes
from conversations.inbox import record_events
from conversations.inbox_worker import InboxWorker
from core.messages import InboundEvent
from escalation.hours import next_opening, sla_for, sla_tier
from madoguchi.background import sla_watcher
from storage import list_messages
from storage.schema import audit_log, escalations
from tests.channels.fakes import FakeSlackApi
from tests.escalation.console_support import make_services

EMERGENCY = "父が急に胸を押さえて苦しんでいます"
CRISIS = "もう生きているのがつらい。消えてしまいたい"
CRISIS_EN = "I want to die. I can't go on."
ROUTINE = "担当者と話したい"
ROUTINE_TEXT = "都民の声総合窓口"
SLACK_TOKEN = "xoxb-test"
# A Tuesday 13:00 in Tokyo (open) and 23:00 (closed).
OPEN = datetime(2026, 12, 1, 4, 0, tzinfo=timezone.utc)
NIGHT = datetime(2026, 12, 1, 14, 0, tzinfo=timezone.utc)


class TestDeadlinesPerTier:
    tokyo = get_tenant("tokyo")

    @pytest.mark.parametrize("risk, reason, tier", [
        ("emergency", "risk", "emergency"), ("crisis", "risk", "crisis"), ("health", "risk", "high"),
        (None, "complaint", "high"), (None, "requested", "routine"), (None, "low_confidence", "routine"),
    ])
    def test_the_tier_of_a_hand_over(self, risk, reason, tier):
        assert sla_tier(risk, reason) == tier

    def test_the_tenant_yaml_gives_minutes_per_tier(self):
        assert sla_for(self.tokyo, OPEN, risk="emergency", reason="risk")["first_response_minutes"] == 2
        assert sla_for(self.tokyo, OPEN, risk="crisis", reason="risk")["first_response_minutes"] == 2
        assert sla_for(self.tokyo, OPEN, risk="health", reason="risk")["first_response_minutes"] == 10
        assert sla_for(self.tokyo, OPEN, reason="requested")["first_response_minutes"] == 15

    def test_at_night_an_emergency_still_counts_from_now_a_routine_one_from_the_opening(self):
        assert sla_for(self.tokyo, NIGHT, risk="emergency")["first_response_minutes"] == 2
        wait = (next_opening(self.tokyo, NIGHT) - NIGHT).total_seconds() / 60
        assert sla_for(self.tokyo, NIGHT, reason="requested")["first_response_minutes"] == pytest.approx(wait + 15)

    def test_one_number_for_every_tier_still_works_and_a_missing_tier_falls_back(self):
        assert sla_minutes({"first_response_minutes": 15}, "first_response_minutes", "emergency") == 15
        per_tier = {"first_response_minutes": {"high": 5, "routine": 20}}
        assert sla_minutes(per_tier, "first_response_minutes", "crisis") == 5
        assert sla_minutes(per_tier, "first_response_minutes", "routine") == 20


@pytest.fixture
def slack_api():
    with FakeSlackApi(SLACK_TOKEN) as fake:
        yield fake


@pytest.fixture
def services(db, tmp_path, slack_api):
    adapter = SlackAdapter("tokyo", "slack-secret", SLACK_TOKEN, "C-ALERTS", base_url=slack_api.url + "/api/",
                           supervisor_channel="C-SUPERVISORS")
    return make_services(db, tmp_path, channels={"tokyo": TenantChannels("tokyo", adapters={"slack": adapter})})


def hand_over(services, text: str, sender: str) -> str:
    """A web resident's message through the inbox and the worker (the scripted engine applies the real risk policy);
    returns the escalation id."""
    event = InboundEvent(channel="web", external_id=f"{sender}:1", tenant="tokyo", sender=sender, text=text)
    record_events(services, [event])
    while InboxWorker(services, "tiers-test").run_once():
        pass
    with services.db.read() as conn:
        return conn.execute(select(escalations.c.id).order_by(escalations.c.created_at.desc())).scalars().first()


def escalation(services, escalation_id: str):
    with services.db.read() as conn:
        return conn.execute(select(escalations).where(escalations.c.id == escalation_id)).one()


def holding_messages(services, escalation_id: str) -> list[str]:
    row = escalation(services, escalation_id)
    with services.db.read() as conn:
        return [m.text for m in list_messages(conn, row.conversation_id) if (m.meta or {}).get("kind") == "holding"]


def at(minutes: float):
    moment = datetime.now(timezone.utc) + timedelta(minutes=minutes)
    return lambda: moment


def test_an_emergency_gets_minutes_the_numbers_again_and_a_supervisor(services, slack_api):
    emergency = hand_over(services, EMERGENCY, "r-emergency")
    routine = hand_over(services, ROUTINE, "r-routine")
    row = escalation(services, emergency)
    assert row.risk == "emergency" and row.priority > escalation(services, routine).priority
    assert (row.first_response_due - row.created_at) == timedelta(minutes=2)

    assert sla_watcher(services, clock=at(1)).sweep().holding_sent == []  # within its two minutes: nothing yet
    result = sla_watcher(services, clock=at(3)).sweep()
    assert result.holding_sent == [emergency] and result.alerted == [emergency]

    [holding] = holding_messages(services, emergency)
    for number in ("119", "110", "#7119"):
        assert number in holding
    assert holding.index("119") < holding.index("#7119"), "the number the turn showed comes first"
    assert ROUTINE_TEXT not in holding and "平日" not in holding

    [alert] = [body for (channel, _ts), body in slack_api.messages.items() if channel == "C-SUPERVISORS"]
    assert "緊急" in alert["text"] and emergency in alert["text"]
    assert CLAIM_ACTION_ID in str(alert["blocks"]) and EMERGENCY not in str(alert)  # no resident's words in Slack
    with services.db.read() as conn:
        audited = conn.execute(select(audit_log.c.target).where(audit_log.c.action == "escalation.sla_alert"))
        assert [target for (target,) in audited] == [emergency]

    assert sla_watcher(services, clock=at(4)).sweep().holding_sent == []  # once only


def test_a_crisis_hears_the_24_hour_lines_in_its_own_language(services):
    crisis_ja = hand_over(services, CRISIS, "r-crisis-ja")
    crisis_en = hand_over(services, CRISIS_EN, "r-crisis-en")
    sla_watcher(services, clock=at(3)).sweep()
    [japanese] = holding_messages(services, crisis_ja)
    [english] = holding_messages(services, crisis_en)
    assert "0120-279-338" in japanese and "いのちの電話" in japanese and ROUTINE_TEXT not in japanese
    assert "0120-279-338" in english and "Yorisoi Hotline (24 hours, free)" in english
    assert "call 110 or 119" in english and ROUTINE_TEXT not in english


def test_emergencies_are_swept_first_and_routine_ones_keep_the_routine_text(services):
    routine = hand_over(services, ROUTINE, "r-routine")
    emergency = hand_over(services, EMERGENCY, "r-emergency")
    due = escalation(services, routine).first_response_due
    late = (due - datetime.now(timezone.utc)).total_seconds() / 60 + 1
    result = sla_watcher(services, clock=at(late)).sweep()
    assert result.holding_sent == [emergency, routine] and result.alerted == [emergency]
    [routine_holding] = holding_messages(services, routine)
    assert ROUTINE_TEXT in routine_holding


def test_any_risk_tier_unclaimed_past_its_deadline_reaches_a_supervisor(services, slack_api):
    health = hand_over(services, ROUTINE, "r-health")
    with services.db.transaction() as conn:  # a health hand-over (a disclaimer tier the resident asked a person for)
        conn.execute(escalations.update().where(escalations.c.id == health).values(risk="health"))
    due = escalation(services, health).first_response_due
    late = (due - datetime.now(timezone.utc)).total_seconds() / 60 + 1
    assert sla_watcher(services, clock=at(late)).sweep().alerted == [health]
    [holding] = holding_messages(services, health)
    assert ROUTINE_TEXT in holding  # not an emergency: the office's own number is the right one
    [alert] = [body for (channel, _ts), body in slack_api.messages.items() if channel == "C-SUPERVISORS"]
    assert "健康" in alert["text"] and "緊急の電話番号" not in alert["text"]
