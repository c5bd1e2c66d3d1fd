"""Every inbound event is screened before it is recorded (issue 10 blocker 3): the storage call that records one is
made only by conversations/inbox.py, which screens first. A new route that recorded an event on its own would
store a My Number in clear; this test names it."""
from __future__ import annotations

import re

from config.settings import PROJECT_ROOT

PACKAGES = ("channels", "config", "conversations", "core", "dialogue", "escalation", "governance", "knowledge",
            "madoguchi", "storage", "integrations")
RECORDS = re.compile(r"\brecord_inbound\(")
ALLOWED = {"conversations/inbox.py", "storage/inbound.py", "storage/__init__.py"}


def test_only_the_inbox_records_inbound_events():
    callers = sorted(
        str(path.relative_to(PROJECT_ROOT))
        for package in PACKAGES for path in (PROJECT_ROOT / package).rglob("*.py")
        if RECORDS.search(path.read_text(encoding="utf-8"))
    )
    assert callers, "the search found nothing: the pattern or the layout changed"
    assert set(callers) <= ALLOWED, f"recording without screening in {sorted(set(callers) - ALLOWED)}"
