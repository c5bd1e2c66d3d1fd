"""What the resident is told: jinja2 templates per language framing official text, its source and its date.

Templates live in dialogue/templates/<lang>/<name>.j2; a tenant overrides one by placing the same file under
config/tenants/<tenant>/templates/<lang>/<name>.j2 (searched first). The only free text in a reply is the
official text (shortened at sentence boundaries, never rewritten) and the templates' own words.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from config.settings import DIALOGUE_TEMPLATES_DIR, get_settings
from config.tenancy import Tenant, routine_sla

DEFAULT_TEMPLATES_DIR = DIALOGUE_TEMPLATES_DIR
DEFAULT_LANGUAGE = "ja"
INTERFACE_LANGUAGES = ("ja", "en", "zh", "ko")
# Residents writing in another language more likely read English than Japanese.
LANGUAGE_FALLBACK = {"other": "en"}
DEFAULT_ANSWER_CHARS = 300
TEMPLATE_NAMES = (
    "answer", "clarify", "escalated", "declined", "blocked", "greeting", "thanks", "goodbye",
    "emergency", "crisis", "disaster", "risk_disclaimer", "japanese_source_note", "satisfaction", "ask_for_words",
    "ask_slot", "message_cut", "pii_not_kept", "holding_emergency", "holding_crisis",
)
# Context a template cannot do without; a missing one is a programming error, not an empty reply.
REQUIRED_CONTEXT = {
    "answer": ("text", "source"), "clarify": ("choices",), "escalated": ("reason",),
    "emergency": ("numbers",), "crisis": ("numbers",), "disaster": ("numbers",), "risk_disclaimer": ("tier",),
    "message_cut": ("kept",), "holding_emergency": ("numbers",), "holding_crisis": ("numbers",),
}

# A sentence ends at 。！？!? (with any closing brackets after it) or at a line break.
_SENTENCE = re.compile(r"[^。！？!?\n]*(?:[。！？!?]+[」』）)】]*\n?|\n|$)")
_HEADING = re.compile(r"^\s*(?:[■□●◆◇【＜<].{0,12}|.{0,12}[:：])[。\s]*$")
_BLANK_LINES = re.compile(r"\n{3,}")


class UnknownTemplate(LookupError):
    pass


@dataclass(frozen=True)
class ShortenedText:
    text: str
    truncated: bool


def _sentences(text: str) -> list[str]:
    """Consecutive pieces that together are exactly `text` (so any prefix of them is a prefix of the text)."""
    return [m.group(0) for m in _SENTENCE.finditer(text) if m.group(0)]


def _cut_clause(sentence: str, limit: int) -> str:
    """A first sentence longer than the limit: cut after the last comma that fits, or hard, and mark it."""
    head = sentence[: max(limit - 1, 1)]
    comma = max(head.rfind("、"), head.rfind("，"), head.rfind(","))
    return (head[: comma + 1] if comma > limit // 3 else head).rstrip() + "…"


def shorten(text: str, limit: int = DEFAULT_ANSWER_CHARS) -> ShortenedText:
    """Whole sentences of `text` from the start, as many as fit in `limit` characters."""
    text = text.strip()
    if len(text) <= limit:
        return ShortenedText(text, False)
    kept: list[str] = []
    for sentence in _sentences(text):
        if len("".join(kept)) + len(sentence) > limit:
            break
        kept.append(sentence)
    # A heading with nothing after it (「■必要なもの。」) says nothing on its own.
    while kept and _HEADING.match(kept[-1]):
        kept.pop()
    if not kept:
        return ShortenedText(_cut_clause(text, limit), True)
    return ShortenedText("".join(kept).strip(), True)


def shorten_official_text(text: str, limit: int = DEFAULT_ANSWER_CHARS) -> str:
    return shorten(text, limit).text


def as_of_year(as_of: Any) -> str | None:
    """"2019", "2025-02", "2024-07-01" or "2019年" → "2019"; anything without a year → None."""
    found = re.search(r"(19|20)\d\d", str(as_of or ""))
    return found.group(0) if found else None


def as_of_date(as_of: Any) -> str | None:
    """Dates as people write them: "2024-07" → 2024年7月, "2014" → 2014年, "2025-10-27" → 2025年10月27日."""
    found = re.match(r"\s*((?:19|20)\d\d)(?:[-/年](\d{1,2}))?(?:[-/月](\d{1,2}))?", str(as_of or ""))
    if not found:
        return None
    year, month, day = found.groups()
    return f"{year}年" + (f"{int(month)}月" if month else "") + (f"{int(day)}日" if month and day else "")


def as_sentence(text: Any) -> str:
    """Official text ends as a sentence ends: a field written without its final 。 gets one."""
    text = str(text or "").strip()
    japanese = bool(text) and ("\u3040" <= text[-1] <= "\u30ff" or "\u4e00" <= text[-1] <= "\u9fff")
    return text + "。" if japanese else text  # never after a URL, a number or a closing bracket


def interface_language(language: str | None) -> str:
    language = LANGUAGE_FALLBACK.get(language or DEFAULT_LANGUAGE, language or DEFAULT_LANGUAGE)
    return language if language in INTERFACE_LANGUAGES else DEFAULT_LANGUAGE


def _tidy(rendered: str) -> str:
    lines = [line.rstrip() for line in rendered.strip().splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines))


class Composer:
    """Renders the reply templates of one tenant: `Composer(tenant).render("answer", "ja", text=…, source=…)`."""

    def __init__(
        self, tenant: Tenant | None = None, templates_dir: Path = DEFAULT_TEMPLATES_DIR,
        tenants_dir: Path | None = None,
    ) -> None:
        self.tenant = tenant
        search_path = [str(templates_dir)]
        if self.tenant is not None:
            override = Path(tenants_dir or get_settings().tenants_dir) / self.tenant.id / "templates"
            search_path.insert(0, str(override))
        # Sandboxed: tenant templates are edited by city staff, not developers.
        self.env = SandboxedEnvironment(
            loader=jinja2.FileSystemLoader(search_path), autoescape=False,
            trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False,
        )
        self.env.globals.update(shortened=shorten, default_answer_chars=DEFAULT_ANSWER_CHARS)
        self.env.filters.update(as_of_year=as_of_year, as_of_date=as_of_date, japanese_date=as_of_date,
                                sentence=as_sentence)

    def tenant_context(self) -> dict[str, Any]:
        if self.tenant is None:
            return {"tenant": "", "contact": {}, "sla": {}}
        return {"tenant": self.tenant.display_name, "contact": self.tenant.contact,
                "sla": routine_sla(self.tenant.get("sla"))}

    def template_for(self, name: str, language: str) -> jinja2.Template:
        """The tenant's template in the language, else the default one, else the Japanese one."""
        candidates = [f"{interface_language(language)}/{name}.j2", f"{DEFAULT_LANGUAGE}/{name}.j2"]
        try:
            return self.env.select_template(candidates)
        except jinja2.TemplatesNotFound as exc:
            raise UnknownTemplate(f"no template {name!r} (looked for {candidates})") from exc

    def render(self, name: str, language: str = DEFAULT_LANGUAGE, **context: Any) -> str:
        missing = [key for key in REQUIRED_CONTEXT.get(name, ()) if context.get(key) is None]
        if missing:
            raise ValueError(f"template {name!r} needs {missing}")
        values = {**self.tenant_context(), "language": interface_language(language), **context}
        return _tidy(self.template_for(name, language).render(**values))
