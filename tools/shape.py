"""Print the package's shape figures (issue 10): top-level modules, module sizes, the longest
chain of package-internal imports (TYPE_CHECKING imports aside), import cycles, and names of
exchanges outside exchanges/ and sim/.

Run from the repository root: ``python tools/shape.py``. Exits 1 when a goal is missed.
"""

from __future__ import annotations

import ast
import re
import sys
from functools import cache
from pathlib import Path

ROOT = Path.cwd()
PKG = ROOT / "dustsweep"
GOALS = {"top_level_modules": 12, "max_lines": 400, "longest_chain": 10}


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def runtime_imports(path: Path, modules: set[str]) -> set[str]:
    """Package modules imported at run time (module level or in functions), not under
    ``if TYPE_CHECKING:``."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    me = module_name(path)
    is_pkg = path.name == "__init__.py"

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for sub in child.orelse:
                    visit(sub)
                continue
            if isinstance(child, ast.Import):
                for alias in child.names:
                    found.add(alias.name)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = me.split(".") if is_pkg else me.split(".")[:-1]
                    anchor = anchor[: len(anchor) - (child.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in child.names:
                    sub = f"{base}.{alias.name}"
                    found.add(sub if sub in modules else base)
            visit(child)

    visit(tree)
    return {m for m in found if m in modules and m != me}


def main() -> int:
    files = sorted(p for p in PKG.rglob("*.py"))
    modules = {module_name(p): p for p in files}
    graph = {m: runtime_imports(p, set(modules)) for m, p in modules.items()}
    top = [p for p in PKG.glob("*.py")]
    sizes = sorted(((len(p.read_text().splitlines()), module_name(p)) for p in files), reverse=True)

    @cache
    def longest(m: str, stack: tuple[str, ...] = ()) -> tuple[str, ...]:
        best: tuple[str, ...] = (m,)
        for dep in sorted(graph[m]):
            if dep in stack:
                continue
            chain = (m, *longest(dep, (*stack, m)))
            if len(chain) > len(best):
                best = chain
        return best

    # cycles: strongly connected components of size > 1
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on: set[str] = set()
    st: list[str] = []
    cycles: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(10000)

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        st.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = st.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in graph:
        if v not in index:
            strong(v)
    chain = max((longest(m) for m in graph), key=len)
    names = re.compile(r"\b(binance|bybit|Binance|Bybit)\b")
    naming = []
    for p in files:
        rel = p.relative_to(PKG).as_posix()
        if rel.startswith(("exchanges/", "sim/")):
            continue
        tree = ast.parse(p.read_text())
        for node in ast.walk(tree):  # docstrings may explain; code may not name
            body = getattr(node, "body", None)
            if (
                isinstance(body, list)
                and body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                body[0].value.value = ""
        hits = set(names.findall(ast.unparse(tree)))
        if hits:
            naming.append(f"{rel}: {', '.join(sorted(hits))}")
    print(f"top-level modules: {len(top)} (goal <= {GOALS['top_level_modules']})")
    print("largest modules: " + ", ".join(f"{n} {s}" for s, n in sizes[:5]))
    over = [f"{n} ({s})" for s, n in sizes if s > GOALS["max_lines"]]
    print(f"modules over {GOALS['max_lines']} lines: {len(over)} {' '.join(over)}")
    print(f"longest import chain: {len(chain)} (goal <= {GOALS['longest_chain']})")
    print("  " + " -> ".join(chain))
    print(f"import cycles: {len(cycles)}")
    for comp in cycles:
        print("  " + ", ".join(comp))
    print(f"modules outside exchanges/ and sim/ that name an exchange: {len(naming)}")
    for line in naming:
        print("  " + line)
    ok = (
        len(top) <= GOALS["top_level_modules"]
        and not over
        and len(chain) <= GOALS["longest_chain"]
        and not cycles
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
