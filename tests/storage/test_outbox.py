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


def reply(key: str, text: str = "粗大ごみは予約制です。", recipient: str = "U1234") -> OutboundMessage:
    return OutboundMessage(channel="line", tenant="tokyo", recipient=recipient, text=text, idempotency_key=key,
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
        enqueue(db, reply(f"bulk-{n}", recipient=f"U{n % 17}"))
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


def test_a_recipients_next_message_waits_until_the_earlier_one_is_sent(db: Database) -> None:
    enqueue(db, reply("a-1", recipient="Ua"))
    enqueue(db, reply("a-2", recipient="Ua"))
    enqueue(db, reply("b-1", recipient="Ub"))
    first, other = claim(db, "s1")  # a-2 stays: two senders must not race one resident's replies
    assert (first.idempotency_key, other.idempotency_key) == ("a-1", "b-1")
    assert claim(db, "s2") == []
    with db.transaction() as conn:
        mark_sent(conn, first)
    [second] = claim(db, "s2")
    assert second.idempotency_key == "a-2"


def test_a_failed_send_holds_the_recipients_next_message_until_it_is_given_up(db: Database) -> None:
    enqueue(db, reply("a-1", recipient="Ua"))
    enqueue(db, reply("a-2", recipient="Ua"))
    [first] = claim(db)
    with db.transaction() as conn:
        mark_send_failed(conn, first, "HTTP 500")
    assert claim(db) == []  # a-1 waits for its retry, and a-2 behind it
    with db.transaction() as conn:
        conn.execute(outbox.update().where(outbox.c.id == first.id).values(next_attempt_at=utcnow()))
    [retry] = claim(db)
    with db.transaction() as conn:
        mark_send_failed(conn, retry, "HTTP 400", permanent=True)
    [second] = claim(db)
    assert second.idempotency_key == "a-2"


def test_concurrent_senders_deliver_each_recipients_messages_in_order(db: Database) -> None:
    for n in range(60):
        enqueue(db, reply(f"r-{n}", recipient=f"U{n % 5}"))
    delivered: list[tuple[str, int]] = []
    lock = threading.Lock()

    def sender(name: str) -> None:
        idle_since = time.monotonic()
        while time.monotonic() - idle_since < 1.0:
            rows = claim(db, name, limit=3)
            if not rows:
                time.sleep(0.01)
                continue
            for row in rows:
                time.sleep(0.002 * (row.id % 3))  # senders of unequal speed
                with lock:
                    delivered.append((row.recipient, int(row.idempotency_key.split("-")[1])))
                with db.transaction() as conn:
                    mark_sent(conn, row)
            idle_since = time.monotonic()

    threads = [threading.Thread(target=sender, args=(f"s{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(delivered) == 60
    for recipient in {r for r, _ in delivered}:
        numbers = [n for r, n in delivered if r == recipient]
        assert numbers == sorted(numbers), recipient
