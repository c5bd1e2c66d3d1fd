"""As-of dates of official pages and files: a date printed next to 「更新日」 (or 「…現在」), HTTP Last-Modified,
and PDF metadata dates, each as ISO YYYY-MM-DD.

Japanese municipal pages print their dates in the western calendar (2024年4月1日, 2024/4/1) or in the Japanese era
(令和6年4月1日, 令和元年): both are read.
"""
from __future__ import annotations

import re
from datetime import date
from email.utils import parsedate_to_datetime

ERAS = {"令和": 2018, "平成": 1988, "昭和": 1925}
_YEAR = r"(?:(?P<era>令和|平成|昭和)\s*(?P<era_year>元|\d{1,2})|(?P<year>(?:19|20)\d{2}))"
_DATE = _YEAR + r"\s*[年/.\-]\s*(?P<month>\d{1,2})\s*[月/.\-]\s*(?P<day>\d{1,2})\s*日?"
_CUE = r"(?:最終更新日?|更新日|更新|掲載日|公開日|作成日|発行日|改訂日?)"
# 「更新日：2024年4月1日」 first; then 「令和6年4月1日現在」.
_CUED = re.compile(_CUE + r"\s*(?:時)?\s*[:：]?\s*" + _DATE)
_AS_OF = re.compile(_DATE + r"\s*(?:現在|時点)")
_PDF_DATE = re.compile(r"D:(\d{4})(\d{2})?(\d{2})?")


def _iso(match: re.Match[str]) -> str | None:
    parts = match.groupdict()
    if parts.get("era"):
        year = ERAS[parts["era"]] + (1 if parts["era_year"] == "元" else int(parts["era_year"]))
    else:
        year = int(parts["year"])
    try:
        return date(year, int(parts["month"]), int(parts["day"])).isoformat()
    except ValueError:
        return None  # 2024年13月 is not a date


def printed_date(text: str) -> str | None:
    """The date a page or document states for itself: after a cue (更新日, 掲載日, 作成日 …), else 「…現在」."""
    import unicodedata

    text = unicodedata.normalize("NFKC", text or "")
    for pattern in (_CUED, _AS_OF):
        for match in pattern.finditer(text):
            found = _iso(match)
            if found:
                return found
    return None


def http_date(value: str | None) -> str | None:
    """An HTTP date header (Last-Modified) as YYYY-MM-DD."""
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).date().isoformat()
    except (TypeError, ValueError, IndexError):
        return None


def pdf_date(value: str | None) -> str | None:
    """A PDF metadata date (D:20240401093000+09'00') as YYYY-MM-DD (or YYYY-MM, YYYY when that is all it has)."""
    match = _PDF_DATE.match(str(value or ""))
    if not match:
        return None
    return "-".join(part for part in match.groups() if part)
