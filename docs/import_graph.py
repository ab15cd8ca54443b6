"""Print which app package imports which (from the source's AST), one line per package.

    python docs/import_graph.py [ROOT]      # ROOT defaults to the repository holding this file

A package is the first level under ``app/`` (``app/clock.py`` counts as ``app.clock``); imports
inside functions count too, because they are dependencies all the same.
"""
from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path


def package_of(module: str) -> str | None:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "app" and len(parts) > 1 else None


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.update(f"{node.module}.{alias.name}" if node.module == "app" else node.module
                         for alias in node.names)
    return found


def graph(root: Path) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for path in sorted((root / "app").rglob("*.py")):
        source = package_of(".".join(path.relative_to(root).with_suffix("").parts))
        if source is None:
            continue
        edges.setdefault(source, set())
        for module in imports_of(path):
            target = package_of(module)
            if target and target != source:
                edges[source].add(target)
    return edges


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1]
    edges = graph(root)
    print("| package | imports |\n|---|---|")
    for source in sorted(edges):
        targets = ", ".join(t.removeprefix("app.") for t in sorted(edges[source])) or "—"
        print(f"| {source.removeprefix('app.')} | {targets} |")


if __name__ == "__main__":
    main()
