"""How the imports of the project's own packages run between the floors (the figures behind the import-linter
contracts in pyproject.toml, which are what CI enforces).

    .venv/bin/python bench/imports.py [CHECKOUT]      # default: this checkout; any older checkout works too

Prints: imports of project packages in the source (tests and bench/ excluded), how many sit inside function
bodies, and the imports that point up the floors or sideways between the three independent areas. The floor of a
module is its top-level package (madoguchi/storage counts as the storage floor, for checkouts from before it moved).
"""
from __future__ import annotations

import ast
import subprocess
import sys
from collections import Counter
from pathlib import Path

# Top to bottom; names on one floor are independent siblings.
FLOORS = [("madoguchi",), ("conversations",), ("dialogue", "escalation", "governance"), ("knowledge", "channels"),
          ("storage",), ("core", "config")]
RANK = {name: len(FLOORS) - i for i, floor in enumerate(FLOORS) for name in floor}
PACKAGES = set(RANK)


def floor_of(module: str) -> str:
    return "storage" if module.startswith("madoguchi.storage") else module.split(".")[0]


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(tree: ast.AST) -> list[tuple[str, bool]]:
    """(imported module, inside a function body) for each absolute import of a project package."""
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(child, True)
            elif isinstance(child, ast.Import):
                found.extend((a.name, in_function) for a in child.names if a.name.split(".")[0] in PACKAGES)
            elif isinstance(child, ast.ImportFrom) and not child.level and child.module:
                if child.module.split(".")[0] in PACKAGES:
                    found.append((child.module, in_function))
            else:
                visit(child, in_function)

    visit(tree, False)
    return found


def main(root: Path) -> None:
    files = subprocess.run(["git", "ls-files", "*.py"], cwd=root, capture_output=True, text=True, check=True)
    total = in_functions = 0
    crossings: Counter[tuple[str, str, str]] = Counter()
    for name in files.stdout.split():
        if name.startswith(("tests/", "bench/")) or name.split("/")[0] not in PACKAGES:
            continue
        path = root / name
        source = floor_of(module_name(root, path))
        for target, in_function in imports_of(ast.parse(path.read_text(encoding="utf-8"))):
            total += 1
            in_functions += in_function
            a, b = source, floor_of(target)
            if a != b and RANK[b] > RANK[a]:
                crossings[(a, b, "up")] += 1
            elif a != b and RANK[b] == RANK[a]:
                crossings[(a, b, "sideways")] += 1
    print(f"imports of project packages: {total}")
    print(f"  inside function bodies:    {in_functions} ({in_functions / max(total, 1):.0%})")
    print(f"  pointing up the floors:    {sum(n for (_, _, kind), n in crossings.items() if kind == 'up')}")
    print(f"  between independent areas: {sum(n for (_, _, kind), n in crossings.items() if kind == 'sideways')}")
    for (a, b, kind), n in sorted(crossings.items()):
        print(f"    {a} → {b} ({kind}): {n}")


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent)
