"""Print the shape of the helpers package's import graph: modules, lines, levels, cycles, hidden imports.

    python scripts/import_graph.py            # the checkout's helpers
    PYTHONPATH=/other/checkout python scripts/import_graph.py

Levels: a module that imports no other helpers module is on level 1; any other sits one above the
highest module it imports (cycles collapsed first). "Hidden" imports are ``from helpers...``
statements inside a function body: the usual way to dodge an import cycle. The layering itself is
checked by ``lint-imports`` (the contracts in pyproject.toml); this only describes.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import grimp


def main() -> None:
    graph = grimp.build_graph("helpers")
    modules = sorted(m for m in graph.modules if m != "helpers")
    edges = {m: {i for i in graph.find_modules_directly_imported_by(m) if i != "helpers"} for m in modules}
    # Strongly connected components (Tarjan), so that a cycle counts once.
    index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            comps.append(comp)

    for m in modules:
        if m not in index:
            visit(m)
    comp_of = {m: i for i, c in enumerate(comps) for m in c}
    level: dict[int, int] = {}
    for i, comp in enumerate(comps):  # Tarjan yields components in reverse topological order
        below = {comp_of[w] for v in comp for w in edges[v]} - {i}
        level[i] = 1 + max((level[j] for j in below), default=0)
    cycles = [sorted(c) for c in comps if len(c) > 1]
    hidden, lines = 0, 0
    for m in modules:
        path = Path(importlib.util.find_spec(m).origin)
        source = path.read_text(encoding="utf-8")
        lines += len(source.splitlines())
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.ImportFrom) and (inner.module or "").startswith("helpers"):
                        hidden += 1
    imports = sum(len(e) for e in edges.values())
    print(f"{len(modules)} modules, {lines} lines, {imports} imports between them")
    print(f"{max(level.values())} levels; {len(cycles)} import cycle(s); "
          f"{hidden} helpers import(s) inside functions")
    for c in cycles:
        print("  cycle:", " <-> ".join(c))
    for lv in sorted(set(level.values())):
        print(f"  level {lv}:", ", ".join(sorted(m.removeprefix("helpers.") for m in modules
                                               if level[comp_of[m]] == lv)))


if __name__ == "__main__":
    main()
