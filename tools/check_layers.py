"""Fail when slurm-search's code breaks its layering.

Three rules, every import statement counting (those inside functions too: a
lazy import is still a dependency), except those under ``if TYPE_CHECKING:``:

1. Layers. Top to bottom: rl -> dsl -> session -> state -> locking. A package
   may import the ones below it, never one above (nor anything it does not
   know).
2. No private reach-ins. A unit imports only the public names of another
   (``slurm_search.state``, never ``slurm_search.state._files``). A unit is a
   package, or a sub-package with a public face of its own: an
   ``__init__.py`` that declares ``__all__`` (``slurm_search.session.workers``
   uses the session core's public names only, and the core its).
3. No cycles. Inside a package, the modules' imports form no cycle.

    python tools/check_layers.py [ROOT]      exit status 1 and one line per violation
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

LAYERS = ["locking", "state", "session", "dsl", "rl"]  # bottom to top


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, skipping the bodies of ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
            continue
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """The dotted modules (or module.name) an import statement names, made absolute."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        parts = module.split(".")
        keep = len(parts) - node.level + (1 if is_package else 0)
        base = ".".join(parts[:keep] + ([base] if base else []))
    return [f"{base}.{alias.name}" for alias in node.names]


def _declares_all(path: Path) -> bool:
    """Whether a module assigns ``__all__`` at its top level (its public face)."""
    for node in ast.parse(path.read_text(), str(path)).body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = [node.target]
        else:
            continue
        if any(isinstance(target, ast.Name) and target.id == "__all__" for target in targets):
            return True
    return False


def _units(src: Path) -> list[str]:
    """The sub-packages below a package that are units (``session.workers``), deepest first."""
    found = []
    for init in (src / "slurm_search").glob("*/*/**/__init__.py"):
        if _declares_all(init):
            found.append(".".join(init.parent.relative_to(src / "slurm_search").parts))
    return sorted(found, key=lambda unit: (-unit.count("."), unit))


def _unit_of(dotted: str, units: list[str]) -> str:
    """``slurm_search.session.workers._cli`` -> ``session.workers``; ``slurm_search.state._x`` -> ``state``."""
    parts = dotted.split(".")[1:]
    for unit in units:
        if parts[: len(unit.split("."))] == unit.split("."):
            return unit
    return parts[0] if parts else ""


def _modules(src: Path) -> dict[str, Path]:
    found = {}
    for path in sorted(src.rglob("*.py")):
        rel = path.relative_to(src).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def violations(root: Path) -> list[str]:
    problems = []
    units = [unit for own in LAYERS for unit in _units(root / "packages" / own / "src")]
    for own in LAYERS:
        src = root / "packages" / own / "src"
        if not src.is_dir():
            problems.append(f"{src}: missing package folder")
            continue
        if (src / "slurm_search" / "__init__.py").exists():
            problems.append(
                f"{src / 'slurm_search' / '__init__.py'}: slurm_search is a namespace package; remove this file"
            )
        below = set(LAYERS[: LAYERS.index(own)])
        modules = _modules(src)
        graph: dict[str, set[str]] = {name: set() for name in modules}
        for name, path in modules.items():
            where = path.relative_to(root)
            unit = _unit_of(name, units)
            tree = ast.parse(path.read_text(), str(path))
            for node in _imports(tree):
                for target in _targets(node, name, path.name == "__init__.py"):
                    parts = target.split(".")
                    if parts[0] != "slurm_search" or len(parts) < 2:
                        continue
                    part = parts[1]
                    if part != own:
                        if part not in below:
                            kind = "above" if part in LAYERS else "unknown to the layering"
                            problems.append(
                                f"{where}:{node.lineno}: {own} imports slurm_search.{part}, which is {kind} it "
                                f"(allowed: {', '.join(sorted(below)) or 'none'})"
                            )
                            continue
                    target_unit = _unit_of(target, units)
                    private = [p for p in parts[2:] if p.startswith("_") and not p.startswith("__")]
                    if target_unit != unit and private:
                        problems.append(
                            f"{where}:{node.lineno}: {unit} imports {target}, a private part of "
                            f"slurm_search.{target_unit}: use its public names"
                        )
                    if part == own:
                        # The module imported (or the module of the name imported).
                        for cut in (len(parts), len(parts) - 1):
                            candidate = ".".join(parts[:cut])
                            if candidate in modules and candidate != name:
                                graph[name].add(candidate)
                                break
        for cycle in _cycles(graph):
            problems.append(
                f"packages/{own}/src: import cycle among {', '.join(cycle)}: move what they share into a module "
                "that imports neither"
            )
    return problems


def main() -> int:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1]
    problems = violations(root)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"layering: {len(problems)} violation(s) (order: {' -> '.join(reversed(LAYERS))})", file=sys.stderr)
        return 1
    print(f"layering: ok ({' -> '.join(reversed(LAYERS))}; no private reach-ins; no import cycles)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
