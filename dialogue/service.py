"""Entry points of the dialogue for callers outside a stored conversation (CLI `ask`, the stateless API)."""
from __future__ import annotations

import threading
from typing import Any

from dialogue.engine import DialogueEngine

_engine: DialogueEngine | None = None
_lock = threading.Lock()


def get_engine() -> DialogueEngine:
    global _engine
    with _lock:
        if _engine is None:
            _bind_corrections_database()
            _engine = DialogueEngine()
        return _engine


def _bind_corrections_database() -> None:
    """Staff corrections (curated answers, outdated flags) come from the service's own database, migrated."""
    from governance.review import bind_database
    from storage import get_database

    db = get_database()
    db.migrate()
    bind_database(db)


def answer_once(tenant_id: str, question: str) -> dict[str, Any]:
    """One question, no conversation: the dialogue's real outcome, answer, confidence and sources."""
    result = get_engine().run_turn(tenant_id, question)
    data = result.to_dict()
    data.pop("timings_ms", None)
    return data
