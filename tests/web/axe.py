"""axe-core in headless Chromium: the accessibility rules every page must pass (WCAG 2.x A/AA and best practice).

axe-core comes from the npm registry (`make axe-core` puts it in var/axe); it is injected into the page under test,
so the test itself needs no network. Pages are opened in a context that bypasses the Content-Security-Policy, or
their strict script-src would refuse the injected script."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from config.settings import PROJECT_ROOT

# Every WCAG 2.0–2.2 A/AA rule (2.2's 24 px target size included) and axe's best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
AXE_SCRIPT = PROJECT_ROOT / "var" / "axe" / "node_modules" / "axe-core" / "axe.min.js"


def axe_unavailable() -> str | None:
    return None if AXE_SCRIPT.exists() else f"axe-core is absent ({AXE_SCRIPT}): `make axe-core` installs it"


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Every violation axe finds on the page as it is now (after its scripts ran)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_SCRIPT))
    result = page.evaluate("tags => axe.run(document, {resultTypes: ['violations'], "
                           "runOnly: {type: 'tag', values: tags}})", AXE_TAGS)
    return result["violations"]


def describe(violations: list[dict[str, Any]]) -> str:
    return "\n".join(f"{v['id']} ({v['impact']}): {v['help']} — "
                     + ", ".join(str(n["target"]) for n in v["nodes"][:5]) for v in violations)


def axe_version() -> str:
    package = Path(AXE_SCRIPT).parent / "package.json"
    import json  # only for the report line

    return json.loads(package.read_text(encoding="utf-8"))["version"]
