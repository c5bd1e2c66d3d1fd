"""Hostile-input figures: per category, how many attacks the tests try and how many are refused (or handled)
correctly. It runs the tests themselves, so the numbers are whatever the suite does today, not a hand count.

    .venv/bin/python bench/hostile.py [--markdown]

An attack is one test case: one parametrised case of a test, or, for the fuzz and conformance tests, each
generated request (they record how many as the `attacks` property). A case on SQLite and on PostgreSQL counts
twice: both databases are attacked. "Refused correctly" counts the attacks of the tests that passed.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Node-id prefixes per category; the first category that matches a test takes it.
CATEGORIES: dict[str, tuple[str, ...]] = {
    "signatures": (
        "tests/channels/test_signatures.py::",
        "tests/web/test_webhooks_line.py::TestLineWebhookRoute::test_bad_signature",
    ),
    "oversize": (
        "tests/web/test_hardening.py::test_an_unsigned_20_mb", "tests/web/test_hardening.py::test_a_chunked_body",
        "tests/web/test_hardening.py::test_a_signed_body_under", "tests/web/test_hardening.py::test_every_route_has",
        "tests/web/test_hardening.py::test_the_smtp_endpoint", "tests/web/test_hardening.py::test_http_inbound_mail",
        "tests/web/test_hostile_text.py::TestLineBatch::test_a_long",
        "tests/web/test_hostile_text.py::TestMail::test_a_long",
        "tests/channels/test_email.py::TestParsing::test_what_is_kept",
    ),
    "encoding/NUL": ("tests/web/test_hostile_text.py::", "tests/core/test_text.py::TestStorable"),
    "malformed payloads": (
        "tests/web/test_fuzz_webhooks.py::",
        "tests/web/test_openapi_conformance.py::test_every_operation_answers_as_documented[",  # invalid ones only
        "tests/web/test_webhooks_line.py::TestLineWebhookRoute::test_malformed",
        "tests/channels/test_line.py::TestLineParse::test_malformed",
    ),
    "mail spoofing": ("tests/channels/test_email_authentication.py::",),
    "sessions/auth": (
        "tests/web/console/test_console.py::TestSignIn", "tests/web/console/test_console.py::TestSession",
        "tests/web/console/test_console.py::TestCsrf", "tests/web/console/test_console.py::TestTenantIsolation",
        "tests/web/test_hardening.py::test_the_default_key", "tests/web/test_hardening.py::test_a_session_forged",
        "tests/escalation/test_queue.py::test_a_token_acts_only",
    ),
    "erasure": ("tests/governance/test_erasure_coverage.py::", "tests/governance/test_retention.py::"),
    "headers": (
        "tests/web/test_hardening.py::test_every_response_carries", "tests/web/test_hardening.py::test_the_docs_page",
        "tests/web/test_hardening.py::test_no_hsts", "tests/web/test_hardening.py::test_a_route_that_sets",
    ),
    "bidi": ("tests/web/console/test_hostile_views.py::test_a_right_to_left",
             "tests/core/test_text.py::TestNormaliseInput::test_strips_each_invisible_character"),
    "rate": ("tests/api/test_limits.py::", "tests/conversations/test_rate_limits.py::"),
}


def category_of(nodeid: str) -> str | None:
    for category, prefixes in CATEGORIES.items():
        if any(nodeid.startswith(prefix) for prefix in prefixes):
            if "test_openapi_conformance" in nodeid and "-negative]" not in nodeid:
                return None  # valid requests checked against the document: conformance, not attacks
            return category
    return None


class Tally:
    """A pytest plugin: keeps only the tests of some category, and counts their attacks by outcome."""

    def __init__(self) -> None:
        self.tried: dict[str, int] = defaultdict(int)
        self.refused: dict[str, int] = defaultdict(int)
        self.tests: dict[str, int] = defaultdict(int)

    def pytest_collection_modifyitems(self, config, items):
        kept = [item for item in items if category_of(item.nodeid)]
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept

    def pytest_runtest_logreport(self, report):
        if report.when != "call" and not (report.when == "setup" and report.outcome != "passed"):
            return
        category = category_of(report.nodeid)
        if category is None or report.skipped:
            return
        attacks = dict(report.user_properties).get("attacks", 1)
        self.tests[category] += 1
        self.tried[category] += attacks
        if report.passed:
            self.refused[category] += attacks

    def table(self) -> str:
        lines = ["| category | attacks tried | refused correctly | tests |", "|---|---:|---:|---:|"]
        for category in CATEGORIES:
            lines.append(f"| {category} | {self.tried[category]} | {self.refused[category]} | {self.tests[category]} |")
        total_tried, total_refused = sum(self.tried.values()), sum(self.refused.values())
        lines.append(f"| **all** | {total_tried} | {total_refused} | {sum(self.tests.values())} |")
        return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args()
    os.chdir(ROOT)
    files = sorted({prefix.split("::")[0] for prefixes in CATEGORIES.values() for prefix in prefixes})
    tally = Tally()
    code = pytest.main(["-q", "-p", "no:cacheprovider", *files], plugins=[tally])
    print()
    print(tally.table())
    return int(code)


if __name__ == "__main__":
    raise SystemExit(main())
