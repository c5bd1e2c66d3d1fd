"""Staff review: what needs a second look, and the corrections the assistant uses from then on.

The review list gathers answers residents rated unhelpful, low-confidence answers and hand-overs, and drafts an
operator corrected. A reviewer (supervisor or admin) then
- writes a curated answer (own text, source and expiry) or marks the right document for the question, and
- flags a source document as outdated (not used until the index is rebuilt or the flag is cleared).

The dialogue asks, on every turn, the service's one `StaffCorrections` (built by the composition root over the
service's database and its configured embedder; cheap: cached per tenant, invalidated when anything here changes):

    corrections = StaffCorrections(db, embedder, settings)
    curated = corrections.curated_answer_for(tenant_id, question)   # core.corrections.CuratedAnswer | None
    skip = corrections.outdated_doc_ids(tenant_id)                  # set[str] of doc ids not to cite

Only redacted text is stored or shown here.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from config.settings import Settings
from config.tenancy import Tenant
from core.corrections import CuratedAnswer
from core.text import normalise_input
from governance.audit import current_index_version, tenant_redactor, thresholds_for
from governance.pii import redact
from knowledge.embedder import Embedder
from storage import Database, StorageError, append_audit, utcnow
from storage import governance as repo

log = logging.getLogger(__name__)
# e5 puts paraphrases of one question at 0.94–0.96 and different questions on one topic at ≤ 0.91 (measured on
# Japanese municipal questions): only a near-paraphrase reuses a curated answer.
SIMILARITY_THRESHOLD = 0.95
# Answers whose confidence cleared the threshold by less than this are worth a look.
LOW_CONFIDENCE_MARGIN = 0.1
# Another process may change corrections; this bounds how long this one serves what it read.
CACHE_SECONDS = 30.0
_TRAILING = re.compile(r"[\s?？。．.!！、,，]+$")
_SPACES = re.compile(r"\s+")


def question_key(text: str) -> str:
    """Normalised form for exact matching: NFKC, no invisible characters or spaces, lower case, no end marks."""
    normalised = normalise_input(text or "", max_chars=2000).text.lower()
    return _SPACES.sub("", _TRAILING.sub("", normalised))[:512]


@dataclass
class _TenantCorrections:
    loaded_at: float
    curated: list[Any]
    by_key: dict[str, Any]
    outdated: list[Any]
    vectors: np.ndarray | None = None


class CorrectionsCache:
    """Per tenant: the active curated answers and outdated flags of one database, re-read after CACHE_SECONDS or at
    once when this process changes them."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._entries: dict[str, _TenantCorrections] = {}
        self._lock = threading.Lock()

    def get(self, tenant: str) -> _TenantCorrections:
        with self._lock:
            entry = self._entries.get(tenant)
        if entry is None or time.monotonic() - entry.loaded_at > CACHE_SECONDS:
            entry = self._load(tenant)
            with self._lock:
                self._entries[tenant] = entry
        return entry

    def _load(self, tenant: str) -> _TenantCorrections:
        try:
            return self._read(tenant)
        except StorageError:
            # An unmigrated or unreachable database must not stop the assistant from answering from the index.
            log.warning("staff corrections unavailable for %s; answering without them", tenant, exc_info=True)
            return _TenantCorrections(time.monotonic(), [], {}, [])

    def _read(self, tenant: str) -> _TenantCorrections:
        with self.db.read() as conn:
            curated = repo.active_curated_answers(conn, tenant)
            outdated = repo.open_outdated_flags(conn, tenant)
        by_key: dict[str, Any] = {}
        for row in curated:  # newest first: the newest answer to a question wins
            by_key.setdefault(row.question_key, row)
        return _TenantCorrections(time.monotonic(), curated, by_key, outdated)

    def invalidate(self, tenant: str) -> None:
        with self._lock:
            self._entries.pop(tenant, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class StaffCorrections:
    """What the dialogue asks on every turn: the curated answer for a question and the documents not to cite.
    Curated questions are compared with the turn's own query vector, embedded by the service's embedder."""

    def __init__(self, db: Database, embedder: Embedder, settings: Settings | None = None) -> None:
        self.db = db
        self.embedder = embedder
        self.settings = settings
        self.cache = CorrectionsCache(db)
        # A curated answer's question never changes (answers are retired, not edited): its vector is kept by id,
        # so a cache reload embeds only what is new.
        self._question_vectors: dict[str, np.ndarray] = {}

    def curated_answer_for(self, tenant: str, question: str, *,
                           query_vector: np.ndarray | None = None) -> CuratedAnswer | None:
        """The curated answer for this question: same normalised question, else the most similar curated question
        at ≥ SIMILARITY_THRESHOLD cosine. Embeds only when the tenant has curated answers (pass the turn's own
        query vector to skip that). Expired and retired answers never match."""
        entry = self.cache.get(tenant)
        if not entry.curated:
            return None
        redacted = redact(question or "")
        exact = entry.by_key.get(question_key(redacted))
        if exact is not None and _still_valid(exact):
            return _as_curated(exact)
        return self._most_similar(entry, redacted, query_vector)

    def _vectors_of(self, rows: list[Any]) -> np.ndarray:
        missing = [row for row in rows if row.id not in self._question_vectors]
        if missing:
            vectors = self.embedder.embed_queries([row.question for row in missing])
            self._question_vectors.update(zip([row.id for row in missing], vectors, strict=True))
        return np.stack([self._question_vectors[row.id] for row in rows])

    def _most_similar(self, entry: _TenantCorrections, question: str,
                      query_vector: np.ndarray | None) -> CuratedAnswer | None:
        if entry.vectors is None:
            entry.vectors = self._vectors_of(entry.curated)
        vector = query_vector if query_vector is not None else self.embedder.embed_queries([question])[0]
        scores = entry.vectors @ np.asarray(vector, dtype=np.float32).reshape(-1)
        best = int(np.argmax(scores))
        row = entry.curated[best]
        if scores[best] < SIMILARITY_THRESHOLD or not _still_valid(row):
            return None
        return _as_curated(row, "similar", float(scores[best]))

    def outdated_doc_ids(self, tenant: str) -> set[str]:
        """Documents a reviewer flagged as outdated under the index now in use. A flag made under an older index
        version lapses when the tenant is re-ingested (the index version changes)."""
        entry = self.cache.get(tenant)
        if not entry.outdated:
            return set()
        version = current_index_version(tenant, self.settings)
        return {flag.doc_id for flag in entry.outdated
                if flag.index_version is None or version is None or flag.index_version == version}

    def changed(self, tenant: str) -> None:
        """A reviewer changed the tenant's corrections: read them again on the next turn."""
        self.cache.invalidate(tenant)


def _as_curated(row: Any, match: str = "exact", similarity: float = 1.0) -> CuratedAnswer:
    return CuratedAnswer(
        id=row.id, tenant=row.tenant, question=row.question, answer=row.answer, doc_id=row.doc_id,
        source_title=row.source_title, source_url=row.source_url, expires_at=row.expires_at, match=match,
        similarity=similarity,
    )


def _still_valid(row: Any) -> bool:
    return row.expires_at is None or row.expires_at > utcnow()


# --- the review list ------------------------------------------------------------------------------------------

@dataclass
class ReviewItem:
    turn_id: str
    conversation_id: str
    created_at: datetime
    question: str  # redacted
    outcome: str
    reason: str | None
    confidence: float | None
    sources: list[dict[str, Any]]
    kinds: list[str] = field(default_factory=list)  # unhelpful | low_confidence | corrected_draft
    comment: str | None = None  # the resident's feedback comment, redacted
    operator_reply: str | None = None  # what the operator sent instead of the draft, redacted


def review_items(db: Any, tenant: Tenant, *, limit: int = 100) -> list[ReviewItem]:
    """Newest first; items a reviewer already decided on are left out."""
    redactor = tenant_redactor(tenant)
    with db.read() as conn:
        done = repo.reviewed_turn_ids(conn, tenant.id)
        items: dict[str, ReviewItem] = {}
        for row, comment in repo.unhelpful_turns(conn, tenant.id):
            _item(items, row).kinds.append("unhelpful")
            if comment:
                items[row.id].comment = redactor.redact(comment)
        barely = thresholds_for(tenant)["answer"] + LOW_CONFIDENCE_MARGIN  # answers that barely cleared it
        for row in repo.low_confidence_turns(conn, tenant.id, answered_below=barely):
            _item(items, row).kinds.append("low_confidence")
        for row, reply in _corrected_drafts(conn, tenant.id):
            _item(items, row).kinds.append("corrected_draft")
            items[row.id].operator_reply = redactor.redact(reply)
    pending = [item for turn_id, item in items.items() if turn_id not in done]
    pending.sort(key=lambda item: item.created_at, reverse=True)
    return pending[:limit]


def _item(items: dict[str, ReviewItem], row: Any) -> ReviewItem:
    if row.id not in items:
        items[row.id] = ReviewItem(
            turn_id=row.id, conversation_id=row.conversation_id, created_at=row.created_at,
            question=row.redacted_question or "", outcome=row.outcome, reason=row.reason,
            confidence=row.confidence, sources=list(row.sources or []),
        )
    return items[row.id]


def _corrected_drafts(conn: Any, tenant: str) -> list[tuple[Any, str]]:
    """Escalations whose draft answer the operator did not send as it was."""
    found: dict[str, tuple[Any, str]] = {}
    for row in repo.turns_with_operator_replies(conn, tenant):
        if row.reply.strip() != (row.draft_answer or "").strip():
            found.setdefault(row.id, (row, row.reply))
    return list(found.values())


# --- reviewer actions (each audited, each makes the dialogue read the corrections again) -------------------

def _audit(conn: Any, reviewer: str, action: str, tenant: str, target: str | None, detail: dict) -> None:
    append_audit(conn, actor=reviewer, action=f"review.{action}", tenant=tenant, target=target, detail=detail)


def _turn_question(conn: Any, tenant: str, turn_id: str) -> str:
    question = repo.redacted_question_of(conn, tenant, turn_id)
    if question is None:
        raise LookupError(f"no turn {turn_id!r} for tenant {tenant!r}")
    return question


def write_curated_answer(corrections: StaffCorrections, tenant: Tenant, *, reviewer: str, answer: str | None = None,
                         doc_id: str | None = None, question: str | None = None, turn_id: str | None = None,
                         source_title: str | None = None, source_url: str | None = None,
                         expires_at: datetime | None = None) -> str:
    """A curated answer (own text) or the right document (doc_id) for the question of `turn_id` or `question`."""
    redactor = tenant_redactor(tenant)
    with corrections.db.transaction() as conn:
        text = redactor.redact(question) if question else _turn_question(conn, tenant.id, turn_id or "")
        if not text.strip():
            raise ValueError("a curated answer needs a question")
        curated_id = repo.add_curated_answer(
            conn, tenant=tenant.id, question=text, question_key=question_key(text), created_by=reviewer,
            answer=answer, doc_id=doc_id, source_title=source_title, source_url=source_url, expires_at=expires_at,
            turn_id=turn_id)
        action = "curated_answer" if answer else "right_source"
        detail = {"curated_id": curated_id, "doc_id": doc_id, "expires_at": expires_at}
        if turn_id:
            repo.record_review_decision(conn, tenant=tenant.id, turn_id=turn_id, action=action, reviewer=reviewer,
                                        detail=detail)
        _audit(conn, reviewer, action, tenant.id, turn_id or curated_id, detail)
    corrections.changed(tenant.id)
    return curated_id


def retire_curated_answer(corrections: StaffCorrections, tenant: Tenant, *, reviewer: str, curated_id: str) -> bool:
    with corrections.db.transaction() as conn:
        retired = repo.retire_curated_answer(conn, tenant=tenant.id, curated_id=curated_id)
        if retired:
            _audit(conn, reviewer, "retire_curated_answer", tenant.id, curated_id, {})
    corrections.changed(tenant.id)
    return retired


def flag_curated_for_removed_pages(corrections: StaffCorrections, tenant: Tenant,
                                   removed: list[tuple[str, list[str]]], *,
                                   actor: str = "website-sync") -> list[str]:
    """Curated answers whose source page (url, its passages' doc ids) left the city's website: flagged for review
    (each flag audited). They keep answering until a reviewer retires them: staff wrote them, and a moved page
    does not make them wrong."""
    flagged: list[str] = []
    with corrections.db.transaction() as conn:
        for url, doc_ids in removed:
            ids = repo.flag_curated_for_review(conn, tenant=tenant.id, doc_ids=doc_ids, urls=[url],
                                               reason=f"出典のページが削除されました: {url}")
            for curated_id in ids:
                _audit(conn, actor, "flag_curated_for_review", tenant.id, curated_id, {"url": url})
            flagged += ids
    corrections.changed(tenant.id)
    return flagged


def flag_outdated(corrections: StaffCorrections, tenant: Tenant, *, reviewer: str, doc_id: str,
                  reason: str | None = None, turn_id: str | None = None) -> int:
    reason = tenant_redactor(tenant).redact(reason) if reason else None
    with corrections.db.transaction() as conn:
        flag_id = repo.flag_outdated(conn, tenant=tenant.id, doc_id=doc_id, flagged_by=reviewer, reason=reason,
                                     index_version=current_index_version(tenant.id, corrections.settings))
        if turn_id:
            repo.record_review_decision(conn, tenant=tenant.id, turn_id=turn_id, action="outdated",
                                        reviewer=reviewer, detail={"doc_id": doc_id})
        _audit(conn, reviewer, "outdated", tenant.id, doc_id, {"flag_id": flag_id, "reason": reason})
    corrections.changed(tenant.id)
    return flag_id


def clear_outdated(corrections: StaffCorrections, tenant: Tenant, *, reviewer: str, doc_id: str) -> int:
    with corrections.db.transaction() as conn:
        cleared = repo.clear_outdated(conn, tenant=tenant.id, doc_id=doc_id, cleared_by=reviewer)
        _audit(conn, reviewer, "clear_outdated", tenant.id, doc_id, {"cleared": cleared})
    corrections.changed(tenant.id)
    return cleared


def dismiss(db: Any, tenant: Tenant, *, reviewer: str, turn_id: str) -> None:
    """Nothing to correct: the item leaves the list."""
    with db.transaction() as conn:
        _turn_question(conn, tenant.id, turn_id)  # the turn must belong to the tenant
        repo.record_review_decision(conn, tenant=tenant.id, turn_id=turn_id, action="dismissed", reviewer=reviewer)
        _audit(conn, reviewer, "dismissed", tenant.id, turn_id, {})


def corrections_overview(db: Any, tenant: str) -> dict[str, list[Any]]:
    """Active curated answers and open outdated flags, for the review page."""
    with db.read() as conn:
        return {"curated": repo.active_curated_answers(conn, tenant),
                "outdated": repo.open_outdated_flags(conn, tenant)}
