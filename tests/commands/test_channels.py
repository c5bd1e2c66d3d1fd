"""`madoguchi channels …`: status lines from the environment, queue counts from the database."""
from __future__ import annotations

from core.messages import InboundEvent, OutboundMessage
from madoguchi.commands.channels import queue_counts
from madoguchi.cli import main
from storage import enqueue_outbox, record_inbound
from storage.testing import temporary_database


def test_status_says_which_channels_are_on_and_what_turns_the_others_on(monkeypatch, capsys):
    monkeypatch.setenv("MADOGUCHI_TOKYO_LINE_CHANNEL_SECRET", "s")
    monkeypatch.setenv("MADOGUCHI_TOKYO_LINE_CHANNEL_ACCESS_TOKEN", "t")
    assert main(["channels", "status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "tokyo/line: on" in lines
    assert any(line.startswith("tokyo/voice: off (missing MADOGUCHI_TOKYO_VOICE_ACCOUNT_SID") for line in lines)


def test_queue_counts_by_channel_and_status(tmp_path):
    with temporary_database("sqlite", tmp_path) as db:
        with db.transaction() as conn:
            for n in range(3):
                record_inbound(conn, InboundEvent(channel="line", external_id=f"e{n}", tenant="tokyo", sender="U"))
            enqueue_outbox(conn, OutboundMessage(channel="email", tenant="tokyo", recipient="a@x.jp", text="t",
                                                 idempotency_key="k"))
        assert queue_counts(db) == [("inbox", "line", "received", 3), ("outbox", "email", "pending", 1)]
