"""Fail when a slurm-search package imports one above it.

The layers, top to bottom: rl -> dsl -> session -> state -> locking. A package
may import the ones below it, never one above (nor, for a test of a package's
isolation, anything it does not declare). Every import statement counts,
including those inside functions, because a lazy import of a higher layer is
still a dependency that a package installed alone cannot satisfy.

    python tools/check_layers.py [ROOT]      exit status 1 and one line per violation
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

LAYERS = ["locking", "state", "session", "dsl", "rl"]  # bottom to top


def imported_parts(source: str, filename: str, own: str) -> list[tuple[int, str]]:
    """The slurm_search parts imported by a module of package ``own``."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative imports stay inside their own package
                continue
            base = node.module or ""
            modules = [base]
            if base == "slurm_search":  # from slurm_search import state
                modules = [f"slurm_search.{alias.name}" for alias in node.names]
        for module in modules:
            parts = module.split(".")
            if parts[0] == "slurm_search" and len(parts) > 1 and parts[1] != own:
                found.append((node.lineno, parts[1]))
    return found


def violations(root: Path) -> list[str]:
    problems = []
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
        for path in sorted(src.rglob("*.py")):
            for line, part in imported_parts(path.read_text(), str(path), own):
                if part not in below:
                    where = "above" if part in LAYERS else "unknown to the layering"
                    problems.append(
                        f"{path.relative_to(root)}:{line}: {own} imports slurm_search.{part}, "
                        f"which is {where} it (allowed: {', '.join(sorted(below)) or 'none'})"
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
    print(f"layering: ok ({' -> '.join(reversed(LAYERS))})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
