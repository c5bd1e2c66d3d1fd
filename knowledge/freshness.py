"""How long a source's content may be trusted, and whether it still may.

Each source in the tenant YAML may declare `review_by` (a date: "2023-06"); otherwise the tenant's
`freshness.max_age_months` gives a maximum age per document kind (and `default`), counted from the source's
as-of date. Past that date an answer says plainly that the information may be out of date; content about money,
eligibility or deadlines goes to a person (`freshness.sensitive: escalate`, the default) or is answered only with
that warning (`warn`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from knowledge.documents import SourceDocument

DEFAULT_MAX_AGE_MONTHS = 36
SENSITIVE_POLICIES = ("escalate", "warn")
# Money, eligibility and deadlines: what a resident acts on and loses by when a rule has changed.
_SENSITIVE = re.compile(
    r"\d[\d,]*\s*円|手当|給付|助成|補助|支給|補償|手数料|保険料|所得|税額|対象者|対象となる|要件|資格|"
    r"期限|締切|締め切り|申請期間|受付期間|受付終了"
)
# A question can make any content a matter of eligibility or deadline (「何歳まで」, 「いつまで」).
_SENSITIVE_QUESTION = re.compile(r"何歳|いつまで|期限|締切|締め切り|もらえ|受けられ|いくら|金額|until when|deadline|how much")


@dataclass(frozen=True)
class Freshness:
    review_by: date | None
    stale: bool
    sensitive: bool


def parse_date(value: Any, end_of_period: bool = False) -> date | None:
    """"2024", "2024-07", "2024-07-01", "2024年7月" → a date (the period's first day, or its last)."""
    found = re.match(r"\s*((?:19|20)\d\d)(?:[-/年](\d{1,2}))?(?:[-/月](\d{1,2}))?", str(value or ""))
    if not found:
        return None
    year, month, day = int(found.group(1)), found.group(2), found.group(3)
    if day:
        return date(year, int(month), int(day))
    if month:
        return _month_end(year, int(month)) if end_of_period else date(year, int(month), 1)
    return date(year, 12, 31) if end_of_period else date(year, 1, 1)


def _month_end(year: int, month: int) -> date:
    following = date(year + month // 12, month % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)


def _add_months(day: date, months: int) -> date:
    """The last day of the month `months` after `day`'s month (June 2022 + 24 → 30 June 2024)."""
    total = day.year * 12 + day.month - 1 + months
    return _month_end(total // 12, total % 12 + 1)


def source_options(tenant: Any, source_name: str | None) -> dict[str, Any]:
    return next((s.options for s in tenant.sources if s.options.get("name") == source_name), {})


def max_age_months(tenant: Any, kind: str) -> int:
    ages = (tenant.get("freshness") or {}).get("max_age_months") or {}
    return int(ages.get(kind, ages.get("default", DEFAULT_MAX_AGE_MONTHS)))


def review_by(tenant: Any, doc: SourceDocument) -> date | None:
    declared = source_options(tenant, doc.source).get("review_by")
    if declared:
        return parse_date(declared, end_of_period=True)
    as_of = parse_date(doc.as_of, end_of_period=True)
    return _add_months(as_of, max_age_months(tenant, doc.kind)) if as_of else None


def freshness_of(tenant: Any, doc: SourceDocument, question: str = "", today: date | None = None) -> Freshness:
    deadline = review_by(tenant, doc)
    stale = deadline is not None and (today or date.today()) > deadline
    sensitive = bool(_SENSITIVE.search(doc.title) or _SENSITIVE.search(doc.body) or _SENSITIVE.search(question)
                     or _SENSITIVE_QUESTION.search(question))
    return Freshness(deadline, stale, sensitive)


def sensitive_policy(tenant: Any) -> str:
    policy = (tenant.get("freshness") or {}).get("sensitive", "escalate")
    return policy if policy in SENSITIVE_POLICIES else "escalate"


def stale_sources(tenant: Any, kinds_per_source: dict[str, set[str]] | None = None,
                  today: date | None = None) -> list[dict[str, Any]]:
    """Sources whose content is past its review date: for the ingestion report and the transparency page."""
    today, stale = today or date.today(), []
    for spec in tenant.sources:
        name = spec.options.get("name", spec.path)
        kinds = sorted((kinds_per_source or {}).get(name) or {"default"})
        probe = [SourceDocument(doc_id="", tenant=tenant.id, title="", body="", source=name,
                                as_of=str(spec.options.get("as_of") or ""), kind=kind) for kind in kinds]
        deadlines = [d for d in (review_by(tenant, p) for p in probe) if d is not None]
        if deadlines and today > min(deadlines):
            stale.append({"name": name, "as_of": spec.options.get("as_of"), "review_by": min(deadlines).isoformat(),
                          "url": spec.options.get("url")})
    return stale
