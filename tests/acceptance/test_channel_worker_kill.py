"""A worker killed (SIGKILL) in the middle of a turn: on restart the turn is completed once and the resident gets
exactly one reply — on SQLite and on PostgreSQL, with the worker in a process of its own."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import datetime, UTC
from pathlib import Path

import pytest
from sqlalchemy import select

from core.messages import InboundEvent
from channels.line import LineAdapter
from conversations.outbox_sender import OutboxSender
from storage import record_inbound
from storage.schema import inbound_events
from storage.testing import postgres_unavailable, temporary_database
from tests.channels.fakes import FakeLineApi
from tests.channels.wiring import LINE_SECRET, LINE_TOKEN, counts, make_services, tenant_channels

WORKER = Path(__file__).with_name("channel_worker_process.py")
LEASE_S = 1.5


def start_worker(db, data_dir: Path, delay_s: float) -> subprocess.Popen:
    url = db.url.render_as_string(hide_password=False)
    return subprocess.Popen([sys.executable, str(WORKER), url, db.schema or "-", str(data_dir), str(delay_s),
                             str(LEASE_S)], stdout=subprocess.PIPE, text=True, cwd=WORKER.parents[2])


def read_until(process: subprocess.Popen, prefix: str) -> str:
    for line in process.stdout:  # bounded by the test timeout; the worker prints within a second or two
        if line.startswith(prefix):
            return line.strip()
    raise AssertionError(f"worker exited before printing {prefix!r}")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_killed_mid_turn_the_turn_completes_once_and_one_reply_is_sent(kind, tmp_path):
    if kind == "postgresql" and (reason := postgres_unavailable()):
        pytest.skip(reason)
    with temporary_database(kind, tmp_path) as db, FakeLineApi(LINE_TOKEN) as line_api:
        token = line_api.issue_reply_token()
        with db.transaction() as conn:
            record_inbound(conn, InboundEvent(channel="line", external_id="kill-1", tenant="tokyo", sender="U9",
                                              text="粗大ごみの出し方", reply_token=token,
                                              received_at=datetime.now(UTC)))

        doomed = start_worker(db, tmp_path, delay_s=60)
        assert read_until(doomed, "turn-started") == "turn-started 粗大ごみの出し方"
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait()
        with db.read() as conn:
            assert conn.execute(select(inbound_events.c.status)).scalar_one() == "processing"
        assert counts(db) == {"inbound": 1, "turns": 0, "outbox": 0, "escalations": 0}

        restarted = start_worker(db, tmp_path, delay_s=0)
        try:
            read_until(restarted, "turn-stored")  # after the dead worker's lease ran out
        finally:
            restarted.kill()
            restarted.wait()
        assert counts(db) == {"inbound": 1, "turns": 1, "outbox": 1, "escalations": 0}

        adapter = LineAdapter("tokyo", LINE_SECRET, LINE_TOKEN, api_host=line_api.url)
        services = make_services(db, tmp_path, channels={"tokyo": tenant_channels("tokyo", {"line": adapter})})
        sender = OutboxSender(services, "sender")
        assert sender.run_once() == 1 and sender.run_once() == 0
        (reply,) = line_api.delivered
        assert reply["replyToken"] == token and "粗大ごみは電話" in reply["messages"][0]["text"]
