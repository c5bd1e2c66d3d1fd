"""Cross-process wake-ups on PostgreSQL: LISTEN on the inbox's NOTIFY channel, so a worker in another process starts
a turn as soon as a webhook's transaction commits instead of at its next poll (SQLite has no such thing: polling).

    storage.notify_inbox(conn, schema)          # inside the recording transaction; delivered on commit
    start_inbox_listener(services, stop)        # one thread per process: sets runtime.inbox_wakeup on each NOTIFY
"""
from __future__ import annotations

import logging
import threading

import psycopg

from conversations.ports import ConversationServices
from storage import inbox_notify_channel

log = logging.getLogger(__name__)

LISTEN_TIMEOUT_S = 1.0  # how often the listener looks at `stop`


def _listen(services: ConversationServices, stop: threading.Event) -> None:
    db, runtime = services.db, services.runtime
    url = db.url.set(drivername="postgresql").render_as_string(hide_password=False)
    while not stop.is_set():
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f'LISTEN "{inbox_notify_channel(db.schema)}"')
                runtime.inbox_listening.set()
                runtime.nudge_worker()  # anything recorded while we were not listening
                while not stop.is_set():
                    for _ in conn.notifies(timeout=LISTEN_TIMEOUT_S, stop_after=1):
                        runtime.nudge_worker()
        except psycopg.Error:
            runtime.inbox_listening.clear()
            log.exception("inbox listener lost its connection; reconnecting")
            stop.wait(1.0)


def start_inbox_listener(services: ConversationServices, stop: threading.Event) -> list[threading.Thread]:
    if services.db.dialect != "postgresql":
        return []
    thread = threading.Thread(target=_listen, args=(services, stop), name="madoguchi-inbox-listen", daemon=True)
    thread.start()
    return [thread]
