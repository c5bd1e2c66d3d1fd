"""Insight for officials ("broad listening"): what residents asked, what the assistant did, what is missing.

    insight = build_insight(db, [tenant], days=30)     # Insight; several tenants for an administrator
    insight_csv(insight) -> str                        # the aggregates as CSV

Aggregates only, and only redacted text: the questions that were handed over or declined are grouped into
topics by embedding similarity (average-linkage clustering on the redacted questions), each shown with its count
and a few representative redacted examples, so officials see which knowledge is missing. Every text that leaves
this module is redacted again on the way out (belt and braces over the redaction at storage time).
"""
from __future__ import annotations

import csv
import io
import re
import threading
import time
import weakref
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from governance.pii import PLACEHOLDERS, redact
from knowledge.embedder import Embedder
from storage import utcnow
from storage.reports import feedback_counts, first_response_times, turns_since

UNANSWERED_OUTCOMES = ("escalated", "declined")
# Average cosine within a topic (e5 on Japanese questions: paraphrases 0.90–0.96, unrelated ≈ 0.80–0.85).
TOPIC_SIMILARITY = 0.89
MAX_CLUSTERED_QUESTIONS = 400
# The work one page view may do, whatever residents sent (one LINE message of 333,333 characters once kept the
# dashboard busy for 13 minutes): each question is read up to TOPIC_CHARS (a topic is said in its first sentences),
# and at most NEW_VECTORS_PER_VIEW questions not seen before are embedded per view; the rest wait for the next one.
TOPIC_CHARS = 300
NEW_VECTORS_PER_VIEW = 64
EXAMPLES_PER_TOPIC = 3
NO_TOPIC = "（出典なし）"


@dataclass
class TopicCluster:
    label: str  # the most central redacted question
    count: int
    examples: list[str]
    reasons: dict[str, int]


@dataclass
class Insight:
    tenants: list[str]
    since: datetime
    until: datetime
    days: list[str]
    total_turns: int = 0
    by_day_channel: dict[str, Counter] = field(default_factory=dict)
    by_day_outcome: dict[str, Counter] = field(default_factory=dict)
    by_day_topic: dict[str, Counter] = field(default_factory=dict)
    channels: Counter = field(default_factory=Counter)
    outcomes: Counter = field(default_factory=Counter)
    topics: Counter = field(default_factory=Counter)
    handover_reasons: Counter = field(default_factory=Counter)
    handovers: int = 0
    sla: dict[str, int] = field(default_factory=dict)
    satisfaction: dict[str, int] = field(default_factory=dict)
    clusters: list[TopicCluster] = field(default_factory=list)
    topics_pending: int = 0  # unanswered questions not grouped yet: embedded on later views (NEW_VECTORS_PER_VIEW)

    @property
    def handover_rate(self) -> float | None:
        return self.handovers / self.total_turns if self.total_turns else None

    @property
    def sla_on_time_rate(self) -> float | None:
        decided = self.sla.get("on_time", 0) + self.sla.get("late", 0)
        return self.sla.get("on_time", 0) / decided if decided else None

    @property
    def satisfaction_rate(self) -> float | None:
        rated = self.satisfaction.get("helpful", 0) + self.satisfaction.get("unhelpful", 0)
        return self.satisfaction.get("helpful", 0) / rated if rated else None


def build_insight(db: Any, tenant_ids: list[str], *, embedder: Embedder | None, days: int = 30,
                  now: datetime | None = None, cluster: bool = True) -> Insight:
    """`embedder` groups the unanswered questions into topics (the service's configured one); None skips topics."""
    until = now or utcnow()
    since = until - timedelta(days=days)
    insight = Insight(tenants=list(tenant_ids), since=since, until=until, days=_day_range(since, until))
    with db.read() as conn:
        rows = turns_since(conn, tenant_ids, since)
        _count_turns(insight, rows)
        insight.sla = _sla(conn, tenant_ids, since, until)
        insight.satisfaction = _satisfaction(conn, tenant_ids, since)
    if cluster and embedder is not None:
        unanswered = [row for row in rows if row.outcome in UNANSWERED_OUTCOMES]
        insight.clusters, insight.topics_pending = cluster_questions_within_budget(unanswered, embedder)
    return insight


class InsightCache:
    """One computation per (tenants, days) at a time, reused for `ttl_seconds`: a dashboard left open or reloaded
    by many officials costs one build, and concurrent requests wait for the one already running."""

    def __init__(self, ttl_seconds: float = 60.0, clock: Any = time.monotonic) -> None:
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._entries: dict[tuple, tuple[float, Insight]] = {}
        self._locks: dict[tuple, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, key: tuple, build: Any) -> Insight:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            cached = self._entries.get(key)
            if cached is not None and self._clock() - cached[0] < self.ttl_seconds:
                return cached[1]
            insight = build()
            if not insight.topics_pending:  # a partial grouping is finished by the next view, not kept
                self._entries[key] = (self._clock(), insight)
            return insight


# A day on the dashboard is a day in Japan (where every tenant is), not a UTC day that starts at 9:00.
DAY_ZONE = ZoneInfo("Asia/Tokyo")


def local_day(moment: datetime) -> Any:
    return moment.astimezone(DAY_ZONE).date()


def _day_range(since: datetime, until: datetime) -> list[str]:
    first, last = local_day(since), local_day(until)
    return [(first + timedelta(days=offset)).isoformat() for offset in range((last - first).days + 1)]


def topic_of(row: Any) -> str:
    """The collection of the first cited source (e.g. 世田谷区 ごみ分別辞典), else the intent."""
    sources = row.sources or []
    if sources and isinstance(sources[0], dict):
        return sources[0].get("source") or sources[0].get("title") or NO_TOPIC
    return row.intent or NO_TOPIC


def _count_turns(insight: Insight, rows: list[Any]) -> None:
    by_channel, by_outcome, by_topic = defaultdict(Counter), defaultdict(Counter), defaultdict(Counter)
    for row in rows:
        day, topic = local_day(row.created_at).isoformat(), topic_of(row)
        by_channel[day][row.channel] += 1
        by_outcome[day][row.outcome] += 1
        by_topic[day][topic] += 1
        insight.channels[row.channel] += 1
        insight.outcomes[row.outcome] += 1
        insight.topics[topic] += 1
        if row.outcome == "escalated":
            insight.handovers += 1
            insight.handover_reasons[row.reason or "unknown"] += 1
    insight.total_turns = len(rows)
    insight.by_day_channel, insight.by_day_outcome, insight.by_day_topic = by_channel, by_outcome, by_topic


def _sla(conn: Any, tenant_ids: list[str], since: datetime, now: datetime) -> dict[str, int]:
    """First response within the tenant's SLA: on time, late (answered late or still waiting past the due time),
    pending (still within time), no_target (no due time set)."""
    counts = Counter({"on_time": 0, "late": 0, "pending": 0, "no_target": 0})
    for due, responded in first_response_times(conn, tenant_ids, since):
        if due is None:
            counts["no_target"] += 1
        elif responded is not None:
            counts["on_time" if responded <= due else "late"] += 1
        else:
            counts["late" if now > due else "pending"] += 1
    return dict(counts)


def _satisfaction(conn: Any, tenant_ids: list[str], since: datetime) -> dict[str, int]:
    counts = {"helpful": 0, "unhelpful": 0}
    counts.update(feedback_counts(conn, tenant_ids, since))
    return counts


# --- topics of the unanswered questions ------------------------------------------------------------------------

# Vectors of redacted questions, per embedder and by text: the same questions come back on every page view.
_VECTORS: weakref.WeakKeyDictionary[Embedder, dict[str, np.ndarray]] = weakref.WeakKeyDictionary()
_VECTORS_LOCK = threading.Lock()


def _known_first(texts: list[str], embedder: Embedder, budget: int) -> list[str]:
    """The texts whose vectors are cached, and up to `budget` new ones (in order)."""
    with _VECTORS_LOCK:
        known = _VECTORS.setdefault(embedder, {})
        kept, new = [], set()
        for text in texts:
            if text in known or text in new or len(new) < budget:
                kept.append(text)
                if text not in known:
                    new.add(text)
        return kept


def _embed(texts: list[str], embedder: Embedder) -> np.ndarray:
    with _VECTORS_LOCK:
        known = _VECTORS.setdefault(embedder, {})
        missing = list(dict.fromkeys(text for text in texts if text not in known))
    if missing:
        vectors = embedder.embed_queries(missing)
        with _VECTORS_LOCK:
            if len(known) > 20_000:
                known.clear()
            known.update(zip(missing, vectors, strict=True))
    with _VECTORS_LOCK:
        return np.stack([known[text] for text in texts])


def average_linkage(vectors: np.ndarray, threshold: float) -> list[list[int]]:
    """Agglomerative clustering on cosine similarity (vectors L2-normalised): repeatedly merge the two clusters
    with the highest average pairwise similarity while it is at least `threshold`."""
    similarity = (vectors @ vectors.T).astype(np.float64)
    clusters = [[i] for i in range(len(vectors))]
    sizes = np.ones(len(vectors))
    np.fill_diagonal(similarity, -np.inf)
    while len(clusters) > 1:
        a, b = np.unravel_index(int(np.argmax(similarity)), similarity.shape)
        if similarity[a, b] < threshold:
            break
        a, b = min(a, b), max(a, b)
        # Lance–Williams update for average linkage: the merged row is the size-weighted mean.
        merged = (similarity[a] * sizes[a] + similarity[b] * sizes[b]) / (sizes[a] + sizes[b])
        similarity[a, :], similarity[:, a] = merged, merged
        similarity[a, a] = -np.inf
        similarity = np.delete(np.delete(similarity, b, axis=0), b, axis=1)
        clusters[a] += clusters.pop(b)
        sizes[a] += sizes[b]
        sizes = np.delete(sizes, b)
    return clusters


_SENTENCE_END = re.compile(r"(?<=[。！？!?\n])")
_PLACEHOLDER = re.compile("|".join(re.escape(p) for p in PLACEHOLDERS.values()))


def topic_text(redacted: str) -> str:
    """What a question is about: its sentences without personal data (「連絡先は〔電話番号〕です」 says nothing about
    the topic, yet would pull every question that has it together), else the text with placeholders removed."""
    sentences = [part.strip() for part in _SENTENCE_END.split(redacted) if part.strip()]
    kept = [sentence for sentence in sentences if not _PLACEHOLDER.search(sentence)]
    return "".join(kept) if kept else _PLACEHOLDER.sub("", redacted).strip() or redacted


def cluster_questions(rows: list[Any], embedder: Embedder, threshold: float = TOPIC_SIMILARITY) -> list[TopicCluster]:
    """Topics among handed-over and declined questions, largest first (every question embedded now)."""
    return cluster_questions_within_budget(rows, embedder, threshold, budget=MAX_CLUSTERED_QUESTIONS)[0]


def cluster_questions_within_budget(rows: list[Any], embedder: Embedder, threshold: float = TOPIC_SIMILARITY,
                                    budget: int = NEW_VECTORS_PER_VIEW) -> tuple[list[TopicCluster], int]:
    """Topics among the questions whose vectors are known or fit this view's budget; and how many wait."""
    rows = [row for row in rows if (row.redacted_question or "").strip()][:MAX_CLUSTERED_QUESTIONS]
    if not rows:
        return [], 0
    texts = [redact(row.redacted_question.strip()[:TOPIC_CHARS]) for row in rows]
    topics = [topic_text(text) for text in texts]
    ready = set(_known_first(topics, embedder, budget))
    chosen = [i for i, topic in enumerate(topics) if topic in ready]
    pending = len(rows) - len(chosen)
    if not chosen:
        return [], pending
    rows, texts, topics = [rows[i] for i in chosen], [texts[i] for i in chosen], [topics[i] for i in chosen]
    vectors = _embed(topics, embedder)
    clusters = [_topic(members, texts, vectors, rows) for members in average_linkage(vectors, threshold)]
    return sorted(clusters, key=lambda topic: (-topic.count, topic.label)), pending


def _topic(members: list[int], texts: list[str], vectors: np.ndarray, rows: list[Any]) -> TopicCluster:
    centre = vectors[members].mean(axis=0)
    ordered = sorted(members, key=lambda i: -float(vectors[i] @ centre))
    examples = list(dict.fromkeys(texts[i] for i in ordered))[:EXAMPLES_PER_TOPIC]
    reasons = Counter(rows[i].reason or rows[i].outcome for i in members)
    return TopicCluster(label=examples[0], count=len(members), examples=examples, reasons=dict(reasons))


# --- CSV export ----------------------------------------------------------------------------------------------

CSV_HEADER = ("section", "day", "key", "value")


def insight_rows(insight: Insight) -> list[tuple[str, str, str, Any]]:
    rows: list[tuple[str, str, str, Any]] = []
    for section, per_day in (("questions_by_channel", insight.by_day_channel),
                             ("questions_by_outcome", insight.by_day_outcome),
                             ("questions_by_topic", insight.by_day_topic)):
        for day in insight.days:
            rows += [(section, day, key, count) for key, count in sorted(per_day.get(day, {}).items())]
    rows += [("handover_reason", "", reason, count) for reason, count in insight.handover_reasons.most_common()]
    rows.append(("handover_rate", "", "all", _ratio(insight.handover_rate)))
    rows += [("sla_first_response", "", key, count) for key, count in insight.sla.items()]
    rows += [("satisfaction", "", key, count) for key, count in insight.satisfaction.items()]
    rows += [("unanswered_topic", "", topic.label, topic.count) for topic in insight.clusters]
    return rows


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def insight_csv(insight: Insight) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for section, day, key, value in insight_rows(insight):
        writer.writerow((section, day, redact(str(key)), value))
    return buffer.getvalue()
