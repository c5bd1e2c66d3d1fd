"""A LINE surge against a real cluster: web instances and channel workers as processes of their own on one
PostgreSQL database, a fake LINE API on loopback, and a sender posting signed webhooks. Used at small sizes by
tests/acceptance/test_surge.py and at full size by bench/scale.py.

    with Cluster(db_url, data_dir, line_api.url, webs=2, workers=2) as cluster:
        report = Surge(cluster, line_api, plan, questions, actions=[...]).run()

The sender keeps each resident's messages in order (a message is sent once the previous one was acknowledged,
as LINE delivers one user's events), sends a share of the events twice (LINE's redelivery), and fails over to the
other web instance when one does not answer (the reverse proxy's part). What is measured comes from what the
sender saw, what the fake LINE API received, and the shared database.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.channels.fakes import FakeLineApi, RecordedCall, Reply

ROOT = Path(__file__).resolve().parents[2]
LINE_SECRET = "surge-line-secret"
LINE_TOKEN = "surge-line-token"
TENANT = "tokyo"
EMERGENCY = "家が火事です、煙で前が見えません"  # config/risk.yml's emergency tier: claimed before the backlog


class TimedLineApi(FakeLineApi):
    """The fake LINE API, noting when each reply arrived and which reply token it used."""

    def __init__(self) -> None:
        super().__init__(LINE_TOKEN)
        self.arrivals: list[tuple[float, dict[str, Any]]] = []

    def handle(self, call: RecordedCall) -> Reply:
        reply = super().handle(call)
        if reply.status == 200:
            self.arrivals.append((time.time(), call.json()))
        return reply


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    """`webs` web instances (they only acknowledge: no inbox workers) and `workers` channel workers."""

    def __init__(self, db_url: str, data_dir: Path, line_api_url: str, *, webs: int = 2, workers: int = 2,
                 poll_s: float = 0.5, log_dir: Path | None = None, extra_env: dict[str, str] | None = None) -> None:
        self.db_url, self.data_dir, self.line_api_url, self.poll_s = db_url, data_dir, line_api_url, poll_s
        self.extra_env = extra_env or {}
        self.log_dir = log_dir or data_dir / "logs"
        self.ports = [free_port() for _ in range(webs)]
        self.webs: list[subprocess.Popen | None] = [None] * webs
        self.workers: list[subprocess.Popen | None] = [None] * workers

    def env(self) -> dict[str, str]:
        line = f"MADOGUCHI_{TENANT.upper()}_LINE_"
        return {
            **os.environ, "MADOGUCHI_DATABASE_URL": self.db_url, "MADOGUCHI_DATA_DIR": str(self.data_dir),
            "MADOGUCHI_ENVIRONMENT": "development", "MADOGUCHI_INDEX_SOURCE": "published",
            "MADOGUCHI_INDEX_POLL_S": str(self.poll_s), "MADOGUCHI_WORKER_POLL_S": "0.2",
            "MADOGUCHI_LOG_LEVEL": "WARNING", "MADOGUCHI_LOG_FORMAT": "text",
            f"{line}CHANNEL_SECRET": LINE_SECRET, f"{line}CHANNEL_ACCESS_TOKEN": LINE_TOKEN,
            f"{line}API_HOST": self.line_api_url,
            f"{line}REPLY_TOKEN_MAX_AGE_S": "3600",  # every reply uses its event's token: replies map to events
            "HF_HUB_OFFLINE": "1", "HAYSTACK_TELEMETRY_ENABLED": "False", **self.extra_env,
        }

    def url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.ports[i]}"

    def start_web(self, i: int) -> None:
        env = {**self.env(), "MADOGUCHI_INBOX_WORKERS": "0", "MADOGUCHI_OUTBOX_SENDERS": "0"}
        self.webs[i] = self._spawn(f"web{i}", ["serve", "--no-bootstrap", "--port", str(self.ports[i])], env)

    def start_worker(self, i: int) -> None:
        self.workers[i] = self._spawn(f"worker{i}", ["channels", "worker", "--no-email"], self.env())

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = (self.log_dir / f"{name}.log").open("a")
        return subprocess.Popen([sys.executable, "-m", "madoguchi.cli", *args], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT)

    def kill(self, process: subprocess.Popen | None) -> None:
        if process is not None and process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()

    def wait_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        for i in range(len(self.webs)):
            while True:
                process = self.webs[i]
                if process is not None and process.poll() is not None:
                    raise RuntimeError(f"web{i} exited with {process.returncode} (see {self.log_dir})")
                try:
                    if httpx.get(f"{self.url(i)}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"web{i} did not come up")
                time.sleep(0.2)

    def __enter__(self) -> Cluster:
        for i in range(len(self.webs)):
            self.start_web(i)
        for i in range(len(self.workers)):
            self.start_worker(i)
        self.wait_ready()
        return self

    def __exit__(self, *exc: object) -> None:
        for process in [*self.webs, *self.workers]:
            if process is not None and process.poll() is None:
                process.terminate()
        for process in [*self.webs, *self.workers]:
            if process is not None:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self.kill(process)


@dataclass
class Plan:
    residents: int
    messages_per_resident: int
    seconds: float  # the surge's length: events are spread evenly over it
    duplicate_share: float = 0.05
    senders: int = 32  # concurrent HTTP clients (LINE's own connections)
    emergency_every: int = 0  # every n-th event is an emergency's words instead of a question (0: none)

    @property
    def events(self) -> int:
        return self.residents * self.messages_per_resident

    @property
    def rate_per_s(self) -> float:
        return self.events / self.seconds


@dataclass
class Sent:
    resident: int
    n: int  # the resident's n-th message
    event_id: str
    reply_token: str
    sent_at: float
    acked_at: float = 0.0
    ack_ms: list[float] = field(default_factory=list)  # every delivery's acknowledgement, duplicates included
    failovers: int = 0


@dataclass
class Action:
    """Something done to the cluster mid-surge, at a fraction of its length."""

    at: float
    name: str
    run: Callable[[], None]
    done_at: float = 0.0


def sign(body: bytes) -> str:
    return base64.b64encode(hmac.new(LINE_SECRET.encode(), body, hashlib.sha256).digest()).decode()


def line_body(user: str, text: str, event_id: str, reply_token: str, redelivery: bool) -> bytes:
    event = {"type": "message", "mode": "active", "timestamp": int(time.time() * 1000),
             "source": {"type": "user", "userId": user}, "webhookEventId": event_id,
             "deliveryContext": {"isRedelivery": redelivery}, "replyToken": reply_token,
             "message": {"type": "text", "id": uuid.uuid4().hex[:16], "text": text}}
    return json.dumps({"destination": "Ubot", "events": [event]}, ensure_ascii=False).encode()


def user_id(resident: int) -> str:
    return "U" + hashlib.sha256(f"surge-{resident}".encode()).hexdigest()[:32]


class Surge:
    def __init__(self, cluster: Cluster, line_api: TimedLineApi, plan: Plan, questions: list[str],
                 actions: list[Action] | None = None, seed: int = 7) -> None:
        self.cluster, self.line_api, self.plan = cluster, line_api, plan
        self.questions, self.actions = questions, sorted(actions or [], key=lambda a: a.at)
        self.random = random.Random(seed)
        self.sent: list[Sent] = []
        self.failed_posts = 0
        self._lock = threading.Lock()
        self._acked = [threading.Event() for _ in range(plan.events)]
        self._local = threading.local()
        self.started_at = 0.0

    # --- sending ------------------------------------------------------------------------------------------
    def run(self) -> list[Sent]:
        self.started_at = time.time()
        actions = threading.Thread(target=self._run_actions, daemon=True)
        actions.start()
        with ThreadPoolExecutor(max_workers=self.plan.senders) as pool:
            list(pool.map(self._send_scheduled, range(self.plan.events)))
        actions.join()
        return self.sent

    def _run_actions(self) -> None:
        for action in self.actions:
            delay = self.started_at + action.at * self.plan.seconds - time.time()
            if delay > 0:
                time.sleep(delay)
            action.run()
            action.done_at = time.time()

    def _send_scheduled(self, i: int) -> None:
        resident, n = i % self.plan.residents, i // self.plan.residents
        delay = self.started_at + i / self.plan.rate_per_s - time.time()
        if delay > 0:
            time.sleep(delay)
        if n > 0:  # the resident's previous message first (one user's events reach the webhook in order)
            self._acked[i - self.plan.residents].wait(timeout=120)
        token = self.line_api.issue_reply_token()
        record = Sent(resident, n, str(uuid.uuid4()), token, time.time())
        text = self.text_of(i)
        self._deliver(record, text, redelivery=False)
        record.acked_at = time.time()
        with self._lock:
            self.sent.append(record)
        self._acked[i].set()
        if self.random.random() < self.plan.duplicate_share:
            self._deliver(record, text, redelivery=True)  # LINE redelivers: the same webhookEventId

    def text_of(self, i: int) -> str:
        every = self.plan.emergency_every
        if every and i % every == every - 1:
            return EMERGENCY
        return self.questions[i % len(self.questions)]

    def _deliver(self, record: Sent, text: str, redelivery: bool) -> None:
        body = line_body(user_id(record.resident), text, record.event_id, record.reply_token, redelivery)
        headers = {"X-Line-Signature": sign(body), "Content-Type": "application/json"}
        webs = len(self.cluster.webs)
        first = self.random.randrange(webs)
        for attempt in range(webs * 20):  # round the instances until one answers (a killed one comes back)
            target = self.cluster.url((first + attempt) % webs)
            started = time.perf_counter()
            try:
                response = self._client().post(f"{target}/webhooks/line/{TENANT}", content=body, headers=headers)
                if response.status_code == 200:
                    record.ack_ms.append((time.perf_counter() - started) * 1e3)
                    return
            except httpx.HTTPError:
                pass
            record.failovers += 1
            time.sleep(0.05 * (attempt // webs))
        with self._lock:
            self.failed_posts += 1

    def _client(self) -> httpx.Client:
        if not hasattr(self._local, "client"):
            self._local.client = httpx.Client(timeout=10)
        return self._local.client


# --- what happened ---------------------------------------------------------------------------------------------
def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def replies_by_token(line_api: TimedLineApi) -> dict[str, list[float]]:
    delivered: dict[str, list[float]] = defaultdict(list)
    for at, body in line_api.arrivals:
        if body.get("replyToken"):
            delivered[body["replyToken"]].append(at)
    return delivered


def order_violations(sent: list[Sent], delivered: dict[str, list[float]]) -> int:
    """Residents whose replies arrived in another order than their messages were sent."""
    by_resident: dict[int, list[Sent]] = defaultdict(list)
    for record in sent:
        by_resident[record.resident].append(record)
    violations = 0
    for records in by_resident.values():
        arrivals = [delivered[r.reply_token][0] for r in sorted(records, key=lambda r: r.n)
                    if delivered.get(r.reply_token)]
        violations += arrivals != sorted(arrivals)
    return violations


def drain(db: Any, timeout: float) -> bool:
    """Wait until every inbound event is finished and every reply sent (or the timeout)."""
    from storage.operations import inbox_backlog, outbox_backlog

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.read() as conn:
            waiting = [row for row in inbox_backlog(conn) if row[2] != "failed"]
            unsent = [row for row in outbox_backlog(conn) if row[2] != "failed"]
        if not waiting and not unsent:
            return True
        time.sleep(0.5)
    return False


def stored_events(db: Any) -> dict[str, dict[str, Any]]:
    """Per LINE event id: its status and its turn (outcome, reason, index version), from the shared database."""
    from sqlalchemy import select

    from storage.schema import inbound_events, turns

    query = (select(inbound_events.c.external_id, inbound_events.c.status, inbound_events.c.priority,
                    turns.c.outcome, turns.c.reason,
                    turns.c.index_version, turns.c.created_at)
             .select_from(inbound_events.outerjoin(turns, turns.c.inbound_event_id == inbound_events.c.id))
             .where(inbound_events.c.channel == "line"))
    with db.read() as conn:
        return {row.external_id: dict(row._mapping) for row in conn.execute(query)}


def turn_to_reply_ms(records: list[Sent], delivered: dict[str, list[float]]) -> list[float]:
    """From the webhook's post to the first reply with the event's token (a busy notice, when one was sent)."""
    return [(delivered[r.reply_token][0] - r.sent_at) * 1e3 for r in records if delivered.get(r.reply_token)]


def outbox_counts(db: Any) -> dict[str, int]:
    """Residents told the service is busy (backpressure: conversations/backpressure.py), and messages never sent."""
    from sqlalchemy import func, select

    from storage.schema import outbox

    with db.read() as conn:
        busy = conn.execute(select(func.count()).where(outbox.c.idempotency_key.like("busy:%"))).scalar_one()
        unsent = conn.execute(select(func.count()).where(outbox.c.status != "sent")).scalar_one()
    return {"busy_notices": busy, "unsent": unsent}


def summarise(surge: Surge, db: Any, drained: bool, actions: dict[str, Action]) -> dict[str, Any]:
    sent, stored = surge.sent, stored_events(db)
    delivered = replies_by_token(surge.line_api)
    with_turn = [r for r in sent if stored.get(r.event_id, {}).get("outcome")]
    urgent = [r for r in with_turn if (stored[r.event_id]["priority"] or 0) > 0]
    to_reply = turn_to_reply_ms([r for r in with_turn if r not in urgent], delivered)
    urgent_to_reply = turn_to_reply_ms(urgent, delivered)
    acks = [ms for r in sent for ms in r.ack_ms]
    versions: dict[str, int] = defaultdict(int)
    for r in with_turn:
        versions[stored[r.event_id]["index_version"] or "none"] += 1
    report: dict[str, Any] = {
        "events": len(sent), "rate_per_s": round(surge.plan.rate_per_s, 1),
        "deliveries": sum(len(r.ack_ms) for r in sent), "duplicates_sent": sum(len(r.ack_ms) - 1 for r in sent),
        "failovers": sum(r.failovers for r in sent), "posts_given_up": surge.failed_posts,
        "stored": sum(1 for r in sent if r.event_id in stored),
        "done": sum(1 for r in sent if stored.get(r.event_id, {}).get("status") == "done"),
        "failed": sum(1 for r in sent if stored.get(r.event_id, {}).get("status") == "failed"),
        "turns": len(with_turn),
        "silent": sum(1 for r in sent if stored.get(r.event_id, {}).get("status") == "done"
                      and not stored[r.event_id].get("outcome")),  # the conversation was with an operator
        "replies": len(surge.line_api.arrivals),
        "lost": sum(1 for r in sent if stored.get(r.event_id, {}).get("status") != "done")
        + sum(1 for r in with_turn if not delivered.get(r.reply_token)),
        "duplicated": sum(len(times) - 1 for times in delivered.values()),
        "order_violations": order_violations(sent, delivered), **outbox_counts(db),
        "ack_ms": {"p50": round(percentile(acks, 0.5), 1), "p99": round(percentile(acks, 0.99), 1)},
        "turn_to_reply_ms": {"p50": round(percentile(to_reply, 0.5)), "p99": round(percentile(to_reply, 0.99))},
        "emergencies": len(urgent),
        "emergency_to_reply_ms": {"p50": round(percentile(urgent_to_reply, 0.5)) if urgent_to_reply else None,
                                  "p99": round(percentile(urgent_to_reply, 0.99)) if urgent_to_reply else None},
        "drained": drained, "turns_by_index_version": dict(versions),
        "outcomes": dict(Counter(f"{stored[r.event_id]['outcome']}/{stored[r.event_id]['reason'] or '-'}"
                                 for r in with_turn)),
    }
    switch = actions.get("answering_off")
    if switch is not None and switch.done_at:
        # A message sent after the switch goes to a person: its turn hands over, or it makes none because a person
        # already holds the conversation (an earlier message of the resident was handed over).
        after = [stored.get(r.event_id, {}) for r in sent if r.sent_at > switch.done_at]
        report["answering_off"] = {
            "events_after": len(after), "handed_over_after": sum(1 for t in after if t.get("outcome") == "escalated"),
            "silent_after": sum(1 for t in after if t.get("status") == "done" and not t.get("outcome")),
            "answered_after": sum(1 for t in after if t.get("outcome") not in (None, "escalated"))}
    return report


# --- one whole run on PostgreSQL ---------------------------------------------------------------------------------
def fresh_postgres_database(url: str) -> str:
    """A new, empty database next to `url`'s (each process of the cluster connects by URL alone)."""
    import psycopg
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"surge_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base.set(drivername="postgresql").render_as_string(hide_password=False),
                         autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return base.set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = target.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')


def two_versions(index_data_dir: Path, settings: Any) -> tuple[Any, Any]:
    """The tenant's real index, and a second version of it (one passage fewer: a re-ingest that changed)."""
    from knowledge.embedder import get_embedder
    from knowledge.index import TenantIndex, build_index
    from knowledge.ingestion import embedding_cache
    from knowledge.text import get_tokenizer

    first = TenantIndex.load(index_data_dir / "index" / TENANT)
    embedder = get_embedder(settings.embedder, 1)
    cache = embedding_cache(settings, embedder.name, embedder.dim)
    try:
        second, _ = build_index(TENANT, first.docs[:-1], get_tokenizer(), embedder, cache,
                                body_chars=first.manifest["body_chars"], reuse=first)
    finally:
        cache.close()
    return first, second


def tenants_with_backpressure(work_dir: Path, limits: dict[str, float]) -> Path:
    """A copy of the shipped tenants whose surge tenant has these backpressure limits (the cluster reads it through
    MADOGUCHI_TENANTS_DIR), so a surge of a few hundred events passes them."""
    import shutil

    import yaml

    tenants = work_dir / "tenants"
    shutil.copytree(ROOT / "config" / "tenants", tenants)
    path = tenants / f"{TENANT}.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    path.write_text(yaml.safe_dump({**config, "backpressure": limits}, allow_unicode=True), encoding="utf-8")
    return tenants


def prepare_work_dir(index_data_dir: Path, work_dir: Path) -> None:
    """The cluster's own data directory; the intent examples' vectors and the embedding cache are borrowed."""
    import shutil

    shutil.rmtree(work_dir, ignore_errors=True)
    (work_dir / "index").mkdir(parents=True)
    for borrowed in ("cache", "index/embedding-cache"):
        if (index_data_dir / borrowed).exists():
            (work_dir / borrowed).symlink_to((index_data_dir / borrowed).resolve())


def surge_on_postgres(postgres_url: str, index_data_dir: Path, questions: list[str], *, residents: int,
                      messages: int, seconds: float, work_dir: Path, drain_timeout: float = 600,
                      duplicate_share: float = 0.05, lease_s: tuple[float, float] | None = None,
                      backpressure: dict[str, float] | None = None, emergency_every: int = 0) -> dict[str, Any]:
    """2 web instances + 2 workers; at 30 % one of each is killed (-9) and restarted, at 50 % a new index version
    is published, at 75 % answering is switched off. `lease_s`: (inbox, outbox) leases, shorter than the service's
    15 s / 60 s so a small test does not wait a minute for a killed worker's reply. `backpressure`: the tenant's
    limits for this run (default: the shipped ones). `emergency_every`: every n-th message is an emergency."""
    from config.settings import Settings
    from config.tenancy import get_tenant
    from conversations.switches import ANSWERING, change_switch
    from knowledge.publication import publish, write_snapshot
    from storage import Database

    prepare_work_dir(index_data_dir, work_dir)
    url = fresh_postgres_database(postgres_url)
    db = Database(url)
    try:
        db.migrate()
        settings = Settings(data_dir=work_dir, database_url=url)
        first, second = two_versions(index_data_dir, settings)
        publish(db, settings, first, "surge")
        write_snapshot(settings, second)  # the ingest job's part; mid-surge it is published (one row)

        extra_env = ({"MADOGUCHI_INBOX_LEASE_S": str(lease_s[0]), "MADOGUCHI_OUTBOX_LEASE_S": str(lease_s[1])}
                     if lease_s else {})
        if backpressure is not None:
            extra_env["MADOGUCHI_TENANTS_DIR"] = str(tenants_with_backpressure(work_dir, backpressure))
        up_started = time.perf_counter()
        with TimedLineApi() as line_api, Cluster(url, work_dir, line_api.url, extra_env=extra_env) as cluster:
            seconds_to_start = time.perf_counter() - up_started
            def kill_and_restart() -> None:
                cluster.kill(cluster.webs[0])
                cluster.kill(cluster.workers[0])
                time.sleep(1.0)
                cluster.start_web(0)
                cluster.start_worker(0)

            def hot_swap() -> None:
                publish(db, settings, second, "surge")

            def answering_off() -> None:
                with db.transaction() as conn:
                    change_switch(conn, get_tenant(TENANT), ANSWERING, off=True, actor="surge", reason="bench")

            actions = [Action(0.3, "kill", kill_and_restart), Action(0.5, "hot_swap", hot_swap),
                       Action(0.75, "answering_off", answering_off)]
            plan = Plan(residents, messages, seconds, duplicate_share, emergency_every=emergency_every)
            surge = Surge(cluster, line_api, plan, questions, actions)
            started = time.perf_counter()
            surge.run()
            drained = drain(db, drain_timeout)
            report = summarise(surge, db, drained, {a.name: a for a in actions})
            report["seconds_to_start"] = round(seconds_to_start, 1)
            report["seconds_to_drain"] = round(time.perf_counter() - started - seconds, 1)
        report["index_versions"] = {"before": first.version, "published_mid_surge": second.version}
        return report
    finally:
        db.dispose()
        drop_postgres_database(url)
