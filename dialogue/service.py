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
            _engine = DialogueEngine()
        return _engine


def answer_once(tenant_id: str, question: str) -> dict[str, Any]:
    """One question, no conversation: the dialogue's real outcome, answer, confidence and sources."""
    result = get_engine().run_turn(tenant_id, question)
    data = result.to_dict()
    data.pop("timings_ms", None)
    return data
