"""Cross-process wake-ups on PostgreSQL: LISTEN/NOTIFY on the inbox, so a worker in another process starts a turn
as soon as a webhook's transaction commits instead of at its next poll (SQLite has no such thing: polling only).

    notify_inbox(conn)                          # inside the recording transaction; delivered on commit
    start_inbox_listener(services, stop)        # one thread per process: sets runtime.inbox_wakeup on each NOTIFY
The channel name carries the schema, so installations (and tests) sharing one server do not wake each other.
"""
from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import Connection, text

from conversations.runtime import runtime_for

log = logging.getLogger(__name__)

LISTEN_TIMEOUT_S = 1.0  # how often the listener looks at `stop`


def inbox_channel(db: Any) -> str:
    return f"madoguchi_inbox_{db.schema or 'public'}"


def notify_inbox(conn: Connection, db: Any) -> None:
    if db.dialect == "postgresql":
        conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": inbox_channel(db)})


def _listen(services: Any, stop: threading.Event) -> None:
    import psycopg

    db, runtime = services.db, runtime_for(services)
    url = db.url.set(drivername="postgresql").render_as_string(hide_password=False)
    while not stop.is_set():
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f'LISTEN "{inbox_channel(db)}"')
                runtime.inbox_listening.set()
                runtime.nudge_worker()  # anything recorded while we were not listening
                while not stop.is_set():
                    for _ in conn.notifies(timeout=LISTEN_TIMEOUT_S, stop_after=1):
                        runtime.nudge_worker()
        except psycopg.Error:
            runtime.inbox_listening.clear()
            log.exception("inbox listener lost its connection; reconnecting")
            stop.wait(1.0)


def start_inbox_listener(services: Any, stop: threading.Event) -> list[threading.Thread]:
    if services.db.dialect != "postgresql":
        return []
    thread = threading.Thread(target=_listen, args=(services, stop), name="madoguchi-inbox-listen", daemon=True)
    thread.start()
    return [thread]
