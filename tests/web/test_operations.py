"""/healthz, /readyz and /metrics on SQLite and PostgreSQL: readiness names what is missing (an index, the
database, a dead loop, a stuck outbox); the metrics count turns, step latencies, sends and webhook rejects, and read
queue depths, risk tickets, SLA breaches, backlogs, kill switches and index versions from the shared database."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from config.settings import PROJECT_ROOT, Settings
from conversations.switches import ANSWERING, change_switch
from conversations.turns import process_event
from core.messages import InboundEvent, OutboundMessage
from knowledge.index import build_index
from knowledge.embedcache import EmbeddingCache
from knowledge.text import get_tokenizer
from madoguchi.app import create_app
from madoguchi.composition import build_services
from storage import Database, enqueue_outbox, record_inbound
from tests.channels.standins import ScriptedEngine
from tests.conftest import TEST_CACHE_DIR
from tests.escalation.console_support import make_escalation
from tests.knowledge.helpers import CITY_DOCS, CharGramEmbedder

TENANTS_DIR = PROJECT_ROOT / "config" / "tenants"


def tiny_index(settings: Settings, tenant: str) -> str:
    """A real index of five documents (a small test embedder: what is tested is readiness, not retrieval)."""
    docs = [d.__class__(**{**d.__dict__, "tenant": tenant}) for d in CITY_DOCS]
    embedder = CharGramEmbedder()
    cache = EmbeddingCache(settings.data_dir / "vectors.sqlite", embedder.dim)
    index, report = build_index(tenant, docs, get_tokenizer(), embedder, cache)
    cache.close()
    index.save(settings.index_dir / tenant)
    return report.index_version


def make_services(db, tmp_path, *tenants_with_index):
    settings = Settings(data_dir=tmp_path, tenants_dir=TENANTS_DIR, secret_key="test-secret-key")
    versions = {tenant: tiny_index(settings, tenant) for tenant in tenants_with_index}
    return build_services(settings, db=db, engine=ScriptedEngine(), channels={}), versions


@pytest.fixture
def ready(db, tmp_path):
    return make_services(db, tmp_path, "tokyo", "amagasaki")


def client_for(services, threads=None):
    app = create_app(services, start_background=False)
    client = TestClient(app)
    client.__enter__()
    if threads is not None:
        app.state.background_threads = threads
    return client


def scrape(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def sample(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


class TestHealthAndReadiness:
    def test_liveness_needs_nothing(self, db, tmp_path):
        services, _ = make_services(db, tmp_path)
        assert client_for(services).get("/healthz").json() == {"status": "alive"}

    def test_ready_with_every_index_loaded_and_their_versions(self, ready):
        services, versions = ready
        response = client_for(services, threads=[]).get("/readyz")
        body = response.json()
        assert response.status_code == 200 and body["status"] == "ready"
        assert body["checks"]["database"]["ok"] and body["checks"]["outbox"]["ok"]
        for tenant, version in versions.items():
            status = body["checks"]["indexes"]["tenants"][tenant]
            assert status["ok"] and status["version"] == version and status["documents"] == 5
            assert 0 <= status["age_seconds"] < 600

    def test_not_ready_while_a_tenant_has_no_index(self, db, tmp_path):
        services, _ = make_services(db, tmp_path, "tokyo")
        response = client_for(services, threads=[]).get("/readyz")
        indexes = response.json()["checks"]["indexes"]
        assert response.status_code == 503 and response.json()["status"] == "not_ready"
        assert indexes["tenants"]["tokyo"]["ok"] and not indexes["tenants"]["amagasaki"]["ok"]
        assert "no index" in indexes["tenants"]["amagasaki"]["error"]

    def test_not_ready_when_a_background_loop_died(self, ready):
        services, _ = ready
        dead = threading.Thread(target=lambda: None, name="madoguchi-inbox-1")
        dead.start()
        dead.join()
        response = client_for(services, threads=[dead]).get("/readyz")
        assert response.status_code == 503
        assert response.json()["checks"]["workers"] == {"ok": False, "threads": {"madoguchi-inbox-1": False}}

    def test_not_ready_when_a_reply_has_waited_too_long(self, ready):
        services, _ = ready
        message = OutboundMessage(channel="line", tenant="tokyo", recipient="U1", text="お待たせしました",
                                  idempotency_key="reply:stuck")
        with services.db.transaction() as conn:
            enqueue_outbox(conn, message, not_before=datetime.now(timezone.utc) - timedelta(minutes=10))
        response = client_for(services, threads=[]).get("/readyz")
        outbox = response.json()["checks"]["outbox"]
        assert response.status_code == 503 and not outbox["ok"] and outbox["oldest_due_seconds"] >= 599

    def test_not_ready_without_the_database_and_metrics_say_so(self, tmp_path):
        unreachable = Database("postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
        services, _ = make_services(unreachable, tmp_path, "tokyo", "amagasaki")
        client = client_for(services, threads=[])
        response = client.get("/readyz")
        checks = response.json()["checks"]
        assert response.status_code == 503 and checks["database"] == {"ok": False, "error": "OperationalError"}
        assert checks["indexes"]["ok"]  # what is still fine is reported as fine
        assert sample(scrape(client), "madoguchi_database_up") == 0.0


class TestMetrics:
    def test_a_turn_is_counted_by_tenant_channel_outcome_and_reason(self, ready):
        services, _ = ready
        labels = {"tenant": "amagasaki", "channel": "line", "outcome": "escalated", "reason": "requested"}
        before = REGISTRY.get_sample_value("madoguchi_turns_total", labels) or 0.0
        event = InboundEvent(channel="line", external_id="m1", tenant="amagasaki", sender="U1", kind="message",
                             text="担当者と話したい", received_at=datetime.now(timezone.utc))
        with services.db.transaction() as conn:
            record_inbound(conn, event)
        process_event(services, "line", "m1", tenant="amagasaki")
        samples = scrape(client_for(services))
        assert sample(samples, "madoguchi_turns_total", **labels) == before + 1
        assert sample(samples, "madoguchi_escalation_queue_depth", tenant="amagasaki", state="queued") == 1.0

    def test_step_latencies_come_from_the_turns_own_timings(self, ready):
        from conversations.metrics import observe_turn
        from core.outcomes import Outcome, TurnResult

        before = REGISTRY.get_sample_value("madoguchi_turn_step_seconds_count",
                                           {"tenant": "tokyo", "step": "retrieve"}) or 0.0
        total = REGISTRY.get_sample_value("madoguchi_turn_step_seconds_sum",
                                          {"tenant": "tokyo", "step": "retrieve"}) or 0.0
        observe_turn("tokyo", "web", TurnResult(Outcome.ANSWERED, "…", timings_ms={"retrieve": 40.0, "total": 50.0}))
        samples = scrape(client_for(ready[0]))
        assert sample(samples, "madoguchi_turn_step_seconds_count", tenant="tokyo", step="retrieve") == before + 1
        assert sample(samples, "madoguchi_turn_step_seconds_sum", tenant="tokyo",
                      step="retrieve") == pytest.approx(total + 0.04)

    def test_webhook_rejects_are_counted_by_reason_with_bounded_labels(self, ready):
        services, _ = ready
        client = client_for(services)

        def rejects(channel, tenant, reason):
            return sample(scrape(client), "madoguchi_webhook_rejects_total", channel=channel, tenant=tenant,
                          reason=reason) or 0.0

        unknown, off = rejects("line", "unknown", "unknown_tenant"), rejects("line", "tokyo", "channel_off")
        assert client.post("/webhooks/line/no-such-city", content=b"{}").status_code == 404
        assert client.post("/webhooks/line/tokyo", content=b"{}").status_code == 404  # LINE is not configured
        assert rejects("line", "unknown", "unknown_tenant") == unknown + 1
        assert rejects("line", "tokyo", "channel_off") == off + 1
        assert not [key for key in scrape(client) if ("tenant", "no-such-city") in key[1]]

    def test_queues_risk_tickets_sla_breaches_backlogs_switches_and_indexes_are_read_at_scrape_time(self, ready):
        services, versions = ready
        make_escalation(services, "tokyo", address="r1", reason="risk", risk="emergency")
        make_escalation(services, "tokyo", address="r2", sla={"first_response_minutes": -5,
                                                             "resolution_minutes": 1440})
        message = OutboundMessage(channel="email", tenant="tokyo", recipient="a@example.jp", text="…",
                                  idempotency_key="reply:1")
        with services.db.transaction() as conn:
            enqueue_outbox(conn, message)
            record_inbound(conn, InboundEvent(channel="web", external_id="w1", tenant="tokyo", sender="web-1",
                                              kind="message", text="…", received_at=datetime.now(timezone.utc)))
            change_switch(conn, services.tenant("tokyo"), ANSWERING, off=True, actor="sato")
        samples = scrape(client_for(services))
        assert sample(samples, "madoguchi_database_up") == 1.0
        assert sample(samples, "madoguchi_escalation_queue_depth", tenant="tokyo", state="queued") == 2.0
        assert sample(samples, "madoguchi_escalations_unclaimed_risk", tenant="tokyo", risk="emergency") == 1.0
        assert sample(samples, "madoguchi_sla_breaches", tenant="tokyo", deadline="first_response") == 1.0
        assert sample(samples, "madoguchi_outbox_backlog", tenant="tokyo", channel="email", status="pending") == 1.0
        assert sample(samples, "madoguchi_inbox_backlog", tenant="tokyo", channel="web", status="received") == 1.0
        assert sample(samples, "madoguchi_switch_off", tenant="tokyo", switch="answering") == 1.0
        assert sample(samples, "madoguchi_switch_off", tenant="amagasaki", switch="answering") == 0.0
        assert sample(samples, "madoguchi_index_info", tenant="tokyo", version=versions["tokyo"]) == 1.0
        assert sample(samples, "madoguchi_index_documents", tenant="amagasaki") == 5.0
        assert 0 <= sample(samples, "madoguchi_index_age_seconds", tenant="tokyo") < 600

    def test_a_send_failure_is_counted(self, ready):
        from conversations.outbox_sender import OutboxSender
        from storage import claim_outbox_batch

        services, _ = ready
        labels = {"tenant": "tokyo", "channel": "line", "result": "failed"}
        before = REGISTRY.get_sample_value("madoguchi_outbox_sends_total", labels) or 0.0
        message = OutboundMessage(channel="line", tenant="tokyo", recipient="U1", text="…", idempotency_key="k1")
        with services.db.transaction() as conn:
            enqueue_outbox(conn, message)
            (row,) = claim_outbox_batch(conn, "sender-test")
        assert not OutboxSender(services, "sender-test").deliver(row)  # no LINE adapter for tokyo: refused
        assert REGISTRY.get_sample_value("madoguchi_outbox_sends_total", labels) == before + 1


@pytest.mark.slow
def test_a_worker_process_serves_its_own_metrics(tmp_path):
    """`madoguchi channels worker --metrics-port 0` (no web app): Prometheus can scrape it like a web instance."""
    # The worker builds the real engine: its intent examples' vectors come from the machine's test cache.
    (TEST_CACHE_DIR / "cache" / "intents").mkdir(parents=True, exist_ok=True)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "intents").symlink_to(TEST_CACHE_DIR / "cache" / "intents")
    env = {**os.environ, "MADOGUCHI_DATA_DIR": str(tmp_path)}
    command = [str(Path(sys.executable).parent / "madoguchi"), "channels", "worker", "--workers", "0", "--senders", "0",
               "--no-email", "--metrics-port", "0"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if line.startswith("metrics on "):
                url = line.split()[-1]
        assert url, "the worker did not say where its metrics are"
        body = urllib.request.urlopen(url, timeout=10).read().decode()
        assert "madoguchi_turns_total" in body or "# TYPE madoguchi_turns counter" in body
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
