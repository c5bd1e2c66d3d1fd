"""Structured logs: one JSON object per line with the request or turn ids, behind the redacting filter — through
the real app (a request id per request, the turn's event id and turn id) and real handlers."""
from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient

from config.settings import Settings
from conversations.turns import process_event
from core.log_context import log_context
from core.messages import InboundEvent
from governance.logging import JsonFormatter, RedactingFormatter, configure_logging, install_redacting_logging
from madoguchi.app import create_app
from madoguchi.composition import build_services
from storage import record_inbound
from tests.channels.standins import ScriptedEngine

PHONE = "090-1234-5678"


@pytest.fixture
def root_lines() -> Iterator[io.StringIO]:
    """configure_logging on the real root logger, its stream captured; the previous handlers put back after."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    handler = configure_logging("INFO", "json")
    stream = io.StringIO()
    handler.setStream(stream)
    yield stream
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_a_line_is_json_with_the_context_ids_extras_and_no_personal_data(root_lines):
    with log_context(request_id="req-abcdefgh", tenant="tokyo"):
        logging.getLogger("madoguchi.test").warning("折り返し先 %s", PHONE, extra={"ms": 12.5})
    (entry,) = [e for e in lines(root_lines) if e["logger"] == "madoguchi.test"]
    assert entry["level"] == "WARNING" and entry["request_id"] == "req-abcdefgh" and entry["tenant"] == "tokyo"
    assert entry["ms"] == 12.5 and PHONE not in json.dumps(entry, ensure_ascii=False)
    assert entry["message"] == "折り返し先 〔電話番号〕" and entry["ts"].endswith("+00:00")


def test_an_exception_is_one_redacted_field(root_lines):
    try:
        raise ValueError(f"送信失敗: {PHONE}")
    except ValueError:
        logging.getLogger("madoguchi.test").exception("配信できませんでした")
    (entry,) = [e for e in lines(root_lines) if e["logger"] == "madoguchi.test"]
    assert "ValueError" in entry["exception"] and "5678" not in entry["exception"]


def test_the_json_formatter_redacts_even_without_the_filter():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter(JsonFormatter()))
    logger = logging.getLogger("tests.json.nofilter")
    logger.addHandler(handler)
    logger.propagate = False
    logger.warning("電話 %s", PHONE)
    assert "〔電話番号〕" in stream.getvalue() and PHONE not in stream.getvalue()


def test_server_loggers_write_through_the_root_handler(root_lines):
    logging.getLogger("uvicorn.error").info("Started server process")
    assert [e for e in lines(root_lines) if e["logger"] == "uvicorn.error"]


def test_text_format_for_reading_by_eye():
    root = logging.getLogger()
    saved = root.handlers[:]
    try:
        handler = configure_logging("INFO", "text")
        stream = io.StringIO()
        handler.setStream(stream)
        logging.getLogger("madoguchi.test").info("電話 %s", PHONE)
        assert "INFO madoguchi.test: 電話 〔電話番号〕" in stream.getvalue()
    finally:
        root.handlers[:] = saved


@pytest.fixture
def services(db, tmp_path):
    return build_services(Settings(data_dir=tmp_path), db=db, engine=ScriptedEngine(), channels={})


def test_a_request_carries_its_id_into_the_response_and_every_line(services, root_lines):
    install_redacting_logging()
    with TestClient(create_app(services, start_background=False)) as client:
        given = client.get("/healthz", headers={"X-Request-ID": "lb-trace-0001"})
        fresh = client.get("/healthz")
        forged = client.get("/healthz", headers={"X-Request-ID": "bad id\nwith newline"})
    assert given.headers["x-request-id"] == "lb-trace-0001"
    assert len(fresh.headers["x-request-id"]) == 32 and forged.headers["x-request-id"] != "bad id\nwith newline"
    requests = [e for e in lines(root_lines) if e["logger"] == "madoguchi.requests"]
    assert [(e["request_id"], e["status"]) for e in requests][:1] == [("lb-trace-0001", 200)]
    assert requests[0]["message"] == "GET /healthz 200" and requests[0]["ms"] >= 0


def test_a_turn_logs_its_event_id_turn_id_and_outcome(services, root_lines):
    event = InboundEvent(channel="line", external_id="j1", tenant="tokyo", sender="U1", kind="message",
                         text=f"担当者と話したい {PHONE}", received_at=datetime.now(timezone.utc))
    with services.db.transaction() as conn:
        record_inbound(conn, event)
    processed = process_event(services, "line", "j1", tenant="tokyo")
    (entry,) = [e for e in lines(root_lines) if e["logger"] == "conversations.turns"]
    assert entry["event_id"] == processed.inbound_event_id and entry["turn_id"] == processed.turn_id
    assert (entry["tenant"], entry["channel"], entry["outcome"], entry["reason"]) == ("tokyo", "line", "escalated",
                                                                                     "requested")
    assert PHONE not in json.dumps(entry, ensure_ascii=False)
