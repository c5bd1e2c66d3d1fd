"""The floors hold: every import points down (import-linter contracts in pyproject.toml), the seams between floors
type-check (mypy, the files listed in pyproject.toml), and no import of the project hides inside a function body
without a comment saying why (such imports hide ties between floors from a reader)."""
from __future__ import annotations

import ast
import io
import os
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("madoguchi", "conversations", "dialogue", "escalation", "governance", "knowledge", "channels", "storage",
            "core", "config")


def source_files() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (PROJECT_ROOT / package).rglob("*.py"))


def _project_modules(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.ImportFrom):
        if node.level:  # relative: inside the package itself
            return [node.module or "."]
        names = [node.module or ""]
    else:
        names = [alias.name for alias in node.names]
    return [name for name in names if name.split(".")[0] in PACKAGES]


def _comment_lines(text: str) -> set[int]:
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    return {token.start[0] for token in tokens if token.type == tokenize.COMMENT}


def _import_runs(body: list[ast.stmt]) -> list[list[ast.Import | ast.ImportFrom]]:
    """Consecutive import statements of one block, which a single comment above them may explain."""
    runs: list[list[ast.Import | ast.ImportFrom]] = []
    current: list[ast.Import | ast.ImportFrom] = []
    for statement in body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            current.append(statement)
            continue
        if current:
            runs.append(current)
        current = []
    if current:
        runs.append(current)
    return runs


def unexplained_function_imports(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    comments = _comment_lines(text)
    found = []
    for function in ast.walk(ast.parse(text)):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(function):
            body = getattr(node, "body", None)
            if not isinstance(body, list) or (node is not function and isinstance(node, (ast.FunctionDef,
                                                                                          ast.AsyncFunctionDef))):
                continue
            for run in _import_runs(body):
                explained = any(line in comments for line in range(run[0].lineno - 1, run[-1].end_lineno + 1))
                for statement in run:
                    for module in _project_modules(statement):
                        if not explained:
                            found.append(f"{path.relative_to(PROJECT_ROOT)}:{statement.lineno} imports {module}")
    return sorted(set(found))


def test_no_project_import_hides_in_a_function_body_without_saying_why() -> None:
    unexplained = [line for path in source_files() for line in unexplained_function_imports(path)]
    assert unexplained == []


def _tool(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def test_every_import_points_down_the_floors() -> None:
    """The import-linter contracts (layers with independent siblings, independence, forbidden)."""
    result = subprocess.run([_tool("lint-imports"), "--no-cache"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


@pytest.mark.slow
def test_the_seams_between_floors_type_check() -> None:
    """mypy on the files pyproject.toml lists: the composition root, the ports and the contexts between floors."""
    environment = {**os.environ, "MYPY_FORCE_COLOR": "0"}
    result = subprocess.run([_tool("mypy"), "--no-error-summary"], cwd=PROJECT_ROOT, capture_output=True,
                            text=True, timeout=600, env=environment)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
