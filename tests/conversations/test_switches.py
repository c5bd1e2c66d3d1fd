"""Kill switches on SQLite and PostgreSQL: the tenant YAML's standing state, a supervisor's override that every
instance reads on its next turn, the audit row of each change, and what a resident gets while a switch is off —
through the real durable path and the real dialogue engine (its short switched-off path needs no index)."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from config.settings import PROJECT_ROOT, Settings
from config.tenancy import load_tenants
from conversations.switches import (
    ANSWERING, change_switch, channel_switch, clear_override, switch_board, switches_in_force,
)
from conversations.turns import process_inbound_row
from core.messages import InboundEvent
from core.outcomes import EscalationReason, Outcome
from dialogue.engine import DialogueEngine
from dialogue.steps.deps import StepDeps
from madoguchi.composition import build_services
from storage import claim_inbound_batch, list_audit, record_inbound
from storage.schema import escalations, outbox

TENANTS_DIR = PROJECT_ROOT / "config" / "tenants"


class NoRetrieval:
    """Stands where the knowledge base would be: a switched-off turn must never reach retrieval."""

    def __getattr__(self, name):
        raise AssertionError(f"a switched-off turn used the knowledge base ({name})")


@pytest.fixture
def tokyo():
    return load_tenants(TENANTS_DIR)["tokyo"]


@pytest.fixture
def services(db, tmp_path):
    settings = Settings(data_dir=tmp_path, tenants_dir=TENANTS_DIR)
    deps = StepDeps(kb=NoRetrieval(), classifier=NoRetrieval(), tenants_dir=TENANTS_DIR)
    engine = DialogueEngine(settings=settings, deps=deps)
    return build_services(settings, db=db, engine=engine, channels={})


def with_switches(tenant, **switches):
    return replace(tenant, raw={**tenant.raw, "switches": switches})


def turn(services, text, *, channel="line", external_id="e1", sender="U1"):
    event = InboundEvent(channel=channel, external_id=external_id, tenant="tokyo", sender=sender, kind="message",
                         text=text, reply_token="rt", received_at=datetime.now(timezone.utc))
    with services.db.transaction() as conn:
        record_inbound(conn, event)
        (row,) = claim_inbound_batch(conn, "test-worker", lease_seconds=60, limit=1)
    return process_inbound_row(services, row)


class TestWhatIsInForce:
    def test_everything_is_on_unless_the_yaml_says_otherwise(self, db, tokyo):
        with db.read() as conn:
            state = switches_in_force(conn, tokyo, "line")
        assert state.answering and state.channel_open and state.decided_by == "config"

    def test_the_yaml_turns_answering_and_a_channel_off(self, db, tokyo):
        tenant = with_switches(tokyo, answering=False, channels={"line": "off"})
        with db.read() as conn:
            line, web = switches_in_force(conn, tenant, "line"), switches_in_force(conn, tenant, "web")
        assert not line.answering and not line.channel_open
        assert not web.answering and web.channel_open

    def test_a_console_override_wins_until_it_is_reset_and_each_change_is_audited(self, db, tokyo):
        with db.transaction() as conn:
            change_switch(conn, tokyo, ANSWERING, off=True, actor="sato", reason="誤回答の調査")
        with db.read() as conn:
            state = switches_in_force(conn, tokyo, "web")
        assert not state.answering and state.decided_by == "console"
        with db.transaction() as conn:
            assert clear_override(conn, tokyo, ANSWERING, actor="sato")
            assert not clear_override(conn, tokyo, ANSWERING, actor="sato")  # nothing left: no audit row
        with db.read() as conn:
            assert switches_in_force(conn, tokyo, "web").answering
            rows = [r for r in list_audit(conn) if r.target == ANSWERING]
        assert [(r.action, r.actor, r.tenant) for r in rows] == [("switch_reset", "sato", "tokyo"),
                                                                 ("switch_off", "sato", "tokyo")]
        assert rows[1].detail["reason"] == "誤回答の調査"

    def test_an_override_can_also_turn_on_what_the_yaml_turned_off(self, db, tokyo):
        tenant = with_switches(tokyo, channels={"email": False})
        with db.transaction() as conn:
            change_switch(conn, tenant, channel_switch("email"), off=False, actor="admin")
        with db.read() as conn:
            assert switches_in_force(conn, tenant, "email").channel_open
            board = {s.name: s for s in switch_board(conn, [tenant])}
        assert board["channel:email"].on and not board["channel:email"].configured_on
        assert board["channel:email"].set_by == "admin"
        assert "channel:slack" not in board  # operators' alerts: nothing of residents' to switch

    def test_an_unknown_switch_is_refused(self, db, tokyo):
        with pytest.raises(ValueError), db.transaction() as conn:
            change_switch(conn, tokyo, "channel:fax", off=True, actor="sato")

    def test_a_tenant_override_leaves_other_tenants_alone(self, db, tokyo):
        amagasaki = load_tenants(TENANTS_DIR)["amagasaki"]
        with db.transaction() as conn:
            change_switch(conn, tokyo, ANSWERING, off=True, actor="sato")
        with db.read() as conn:
            assert switches_in_force(conn, amagasaki, "web").answering


class TestTurnsWhileSwitchedOff:
    def off(self, services, name):
        with services.db.transaction() as conn:
            change_switch(conn, services.tenant("tokyo"), name, off=True, actor="sato")

    def test_answering_off_hands_the_question_to_a_person(self, services):
        self.off(services, ANSWERING)
        processed = turn(services, "粗大ごみの出し方を教えてください")
        result = processed.result
        assert result.outcome is Outcome.ESCALATED and result.reason is EscalationReason.ANSWERING_OFF
        assert "自動応答を停止" in result.answer and "03-5320-7725" in result.answer
        assert result.notes["switch"] == "answering_off"
        with services.db.read() as conn:
            escalation = conn.execute(select(escalations)).one()
            reply = conn.execute(select(outbox)).one()
        assert escalation.reason == "answering_off" and escalation.id == processed.escalation_id
        assert reply.payload["text"] == result.answer

    def test_answering_off_still_gives_an_emergency_the_public_numbers_first(self, services):
        self.off(services, ANSWERING)
        result = turn(services, "家が火事です、助けて").result
        assert result.outcome is Outcome.ESCALATED and result.reason is EscalationReason.RISK
        assert "119" in result.answer and result.risk == "emergency"

    def test_a_channel_off_answers_with_the_phone_number_in_the_residents_language(self, services):
        self.off(services, channel_switch("line"))
        ja = turn(services, "粗大ごみの出し方を教えてください").result
        en = turn(services, "How do I throw away a sofa?", external_id="e2", sender="U2").result
        assert ja.outcome is Outcome.DECLINED and ja.template == "channel_off"
        assert "一時休止" in ja.answer and "03-5320-7725" in ja.answer
        assert en.language == "en" and "paused for maintenance" in en.answer and "03-5320-7725" in en.answer
        with services.db.read() as conn:
            assert conn.execute(select(escalations)).first() is None  # nobody is asked to answer it
            assert len(conn.execute(select(outbox)).all()) == 2  # both told, through the channel

    def test_a_channel_off_leaves_the_other_channels_answering(self, services):
        self.off(services, channel_switch("line"))
        with services.db.read() as conn:
            state = switches_in_force(conn, services.tenant("tokyo"), "email")
        assert state.all_on
