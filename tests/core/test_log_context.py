"""The log context: nested, reset on exit, separate per thread."""
from __future__ import annotations

import threading

from core.log_context import bind_log_context, current_log_context, log_context


def test_nested_contexts_add_and_reset():
    assert current_log_context() == {}
    with log_context(request_id="r1"):
        with log_context(event_id=7, tenant="tokyo"):
            bind_log_context(turn_id="t1")
            assert current_log_context() == {"request_id": "r1", "event_id": 7, "tenant": "tokyo", "turn_id": "t1"}
        assert current_log_context() == {"request_id": "r1"}
    assert current_log_context() == {}


def test_threads_do_not_share_their_context():
    seen = {}

    def worker(name):
        with log_context(event_id=name):
            barrier.wait()
            seen[name] = current_log_context()["event_id"]

    barrier = threading.Barrier(2)
    threads = [threading.Thread(target=worker, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {"a": "a", "b": "b"}
