"""The outbox sends each idempotency key once: a repeated enqueue, a retry or a second sender never sends twice."""
from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from core.messages import OutboundMessage
from storage import (
    Database, claim_outbox_batch, enqueue_outbox, mark_send_failed, mark_sent, outbound_message_from_row,
    utcnow,
)
from storage.schema import outbox


def reply(key: str, text: str = "粗大ごみは予約制です。") -> OutboundMessage:
    return OutboundMessage(channel="line", tenant="tokyo", recipient="U1234", text=text, idempotency_key=key,
                           choices=("1", "2"), reply_token="r-1", meta={"turn": "t-1"})


def enqueue(db: Database, message: OutboundMessage) -> bool:
    with db.transaction() as conn:
        return enqueue_outbox(conn, message, conversation_id="c-1")


def claim(db: Database, worker: str = "s1", **options: float) -> list:
    with db.transaction() as conn:
        return claim_outbox_batch(conn, worker, **options)


def test_enqueue_is_idempotent_on_the_key(db: Database) -> None:
    assert enqueue(db, reply("turn-1:reply")) is True
    assert enqueue(db, reply("turn-1:reply", text="a retry computed a different text")) is False
    with db.read() as conn:
        texts = [row.payload["text"] for row in conn.execute(select(outbox))]
    assert texts == ["粗大ごみは予約制です。"]


def test_the_claimed_row_rebuilds_the_outbound_message(db: Database) -> None:
    enqueue(db, reply("k-rt"))
    [row] = claim(db)
    assert outbound_message_from_row(row) == reply("k-rt")


def test_a_sent_message_is_never_handed_out_again(db: Database) -> None:
    enqueue(db, reply("k-1"))
    [row] = claim(db)
    with db.transaction() as conn:
        assert mark_sent(conn, row) is True
        assert mark_sent(conn, row) is False  # a second confirmation changes nothing
    assert claim(db, lease_seconds=0) == []
    assert enqueue(db, reply("k-1")) is False


def test_a_dead_senders_message_is_retried_with_the_same_key_and_the_dead_sender_cannot_confirm(db: Database) -> None:
    enqueue(db, reply("k-2"))
    [dead] = claim(db, "dead", lease_seconds=0.05)
    time.sleep(0.1)
    [retry] = claim(db, "alive")
    assert retry.idempotency_key == dead.idempotency_key and retry.attempts == 2
    with db.transaction() as conn:
        assert mark_sent(conn, dead) is False
        assert mark_sent(conn, retry) is True


def test_a_failed_send_backs_off_then_gives_up(db: Database) -> None:
    enqueue(db, reply("k-3"))
    [row] = claim(db)
    with db.transaction() as conn:
        assert mark_send_failed(conn, row, "HTTP 500")
    assert claim(db) == []  # not due yet: backoff
    with db.transaction() as conn:
        conn.execute(outbox.update().values(next_attempt_at=utcnow() - timedelta(seconds=1)))  # backoff over
    [row] = claim(db)
    with db.transaction() as conn:
        assert mark_send_failed(conn, row, "HTTP 400 invalid recipient", permanent=True)
        status = conn.execute(select(outbox.c.status)).scalar_one()
    assert status == "failed"


def test_concurrent_senders_send_every_message_exactly_once(db: Database) -> None:
    for n in range(100):
        enqueue(db, reply(f"bulk-{n}"))
    sent: Counter[str] = Counter()
    lock = threading.Lock()

    def sender(name: str) -> None:
        while rows := claim(db, name, limit=5):
            with db.transaction() as conn:
                confirmed = [row.idempotency_key for row in rows if mark_sent(conn, row)]
            with lock:
                sent.update(confirmed)

    threads = [threading.Thread(target=sender, args=(f"s{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(sent) == 100 and set(sent.values()) == {1}
