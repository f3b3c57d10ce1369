"""Measure slurm-search's structure: size, import depth, and one worker loop's path.

    python tools/arch_metrics.py [ROOT]

Prints one table, a row per package and a total:

- modules, lines: the ``.py`` files under ``packages/<name>/src`` and their lines;
- longest: the module with the most lines;
- depth: the longest chain of imports between the project's modules (A imports
  B imports C: 3), every import statement counting (those inside functions
  too: a lazy import is still a dependency), except those under
  ``if TYPE_CHECKING:``. A package's row counts its own modules' imports; the
  total counts imports across packages too.

Then one steady-state iteration of a worker's loop (``session.work_on``: claim,
evaluate, report). It creates a small session of the demo objective (no sleep,
rand) in a throwaway store, runs ``work_on`` under ``sys.setprofile`` in a
child process, and counts, between the 3rd and the 4th call of
``claim_and_report`` (the main thread only; the lease keeper's thread is not
followed):

- modules: the project's modules entered;
- calls between modules: calls from a function of one project module into a
  function of another (the caller is the nearest project frame, so a call
  through the standard library, a `with` or a callback passed down, counts
  for the project module that made it);
- back up: those calls whose callee imports the caller, directly or through
  other modules (the callee is higher: the call goes against the direction of
  the imports, such as a lower module calling a method of an object the
  higher one owns);
- into _view: calls between modules entering ``session/_view.py`` (the
  session's cached view), and the same for its collaborators when there are.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_layers import _imports, _targets  # noqa: E402 - the layering check reads imports the same way

ITERATION = 3  # which iteration of the loop is measured (the first ones warm caches)


def modules(root: Path) -> dict[str, Path]:
    """Every project module (``slurm_search.session._view``) and its file."""
    found = {}
    for src in sorted((root / "packages").glob("*/src")):
        for path in sorted(src.rglob("*.py")):
            parts = list(path.relative_to(src).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def import_graph(mods: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the project modules it imports."""
    graph: dict[str, set[str]] = {name: set() for name in mods}
    for name, path in mods.items():
        tree = ast.parse(path.read_text(), str(path))
        for node in _imports(tree):
            for target in _targets(node, name, path.name == "__init__.py"):
                parts = target.split(".")
                for cut in (len(parts), len(parts) - 1):
                    candidate = ".".join(parts[:cut])
                    if candidate in mods:
                        if candidate != name:
                            graph[name].add(candidate)
                        break
    return graph


def depth(graph: dict[str, set[str]], keep: set[str]) -> int:
    """The most modules on one chain of imports among `keep` (an edge closing a cycle is not followed)."""
    memo: dict[str, int] = {}
    on_path: set[str] = set()

    def longest(v: str) -> int:
        if v in memo:
            return memo[v]
        on_path.add(v)
        best = 1 + max((longest(w) for w in graph[v] if w in keep and w not in on_path), default=0)
        on_path.discard(v)
        memo[v] = best
        return best

    sys.setrecursionlimit(10_000)
    return max((longest(v) for v in sorted(keep)), default=0)


def package_of(module: str) -> str:
    return module.split(".")[1] if "." in module else module


def _lines(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for _ in f)


def size_table(root: Path) -> list[str]:
    mods = modules(root)
    graph = import_graph(mods)
    lines = {name: _lines(path) for name, path in mods.items()}
    rows = []
    order = ["locking", "state", "session", "dsl", "rl"]
    packages = sorted({package_of(m) for m in mods}, key=lambda p: (order.index(p) if p in order else 99, p))
    for pkg in [*packages, "total"]:
        own = set(mods) if pkg == "total" else {m for m in mods if package_of(m) == pkg}
        if not own:
            continue
        top = max(own, key=lambda m: (lines[m], m))
        rows.append(
            (pkg, str(len(own)), str(sum(lines[m] for m in own)), f"{top.removeprefix('slurm_search.')} ({lines[top]})",
             str(depth(graph, own)))
        )
    header = ("package", "modules", "lines", "longest module (lines)", "import depth")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    out = ["  ".join(c.ljust(w) for c, w in zip(header, widths, strict=True))]
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return out


# -- one loop of work_on, traced (runs in a child process) --------------------


def trace_loop(root: Path) -> list[str]:
    """Run a small session under sys.setprofile; describe one loop iteration."""
    import threading

    mods = modules(root)
    graph = import_graph(mods)
    by_file = {str(path.resolve()): name for name, path in mods.items()}
    above: dict[str, set[str]] = {}  # module -> the modules that import it, directly or not

    def importers(m: str) -> set[str]:
        if m not in above:
            above[m] = set()
            todo = [m]
            while todo:
                cur = todo.pop()
                for k, deps in graph.items():
                    if cur in deps and k not in above[m]:
                        above[m].add(k)
                        todo.append(k)
        return above[m]

    from slurm_search import session
    from slurm_search.session import demo

    name = session.create_session(
        "slurm_search.session.demo:objective", demo.space(), max_evals=ITERATION + 3, seed=1,
        context={"sleep": 0},
    )
    seen = 0
    entered: list[str] = []
    calls: list[tuple[str, str, str]] = []  # (caller module, callee module, callee function)
    main = threading.main_thread()
    file_module: dict[str, str | None] = {}

    def module_of(frame) -> str | None:  # type: ignore[no-untyped-def]
        fn = frame.f_code.co_filename
        if fn not in file_module:
            file_module[fn] = by_file.get(str(Path(fn).resolve())) if fn.endswith(".py") else None
        return file_module[fn]

    def profile(frame, event, arg):  # type: ignore[no-untyped-def]
        nonlocal seen
        if event != "call" or threading.current_thread() is not main:
            return
        callee = module_of(frame)
        if callee is None:
            return
        if frame.f_code.co_name == "claim_and_report" and callee.endswith("session._claims"):
            seen += 1
        if seen != ITERATION:
            return
        entered.append(callee)
        back = frame.f_back
        while back is not None and module_of(back) is None:
            back = back.f_back
        caller = module_of(back) if back is not None else None
        if caller is not None and caller != callee:
            calls.append((caller, callee, frame.f_code.co_name))

    sys.setprofile(profile)
    try:
        report = session.work_on(name, worker_id="metrics")
    finally:
        sys.setprofile(None)
    if report.completed != ITERATION + 3 or seen <= ITERATION:
        raise SystemExit(f"arch_metrics: the traced session did not run as expected: {report}")
    distinct = sorted(set(entered))
    back_up = [c for c in calls if c[1] in importers(c[0])]
    view_modules = {m for m in mods if m.startswith("slurm_search.session._view")}
    into_view = [c for c in calls if c[1] in view_modules]
    short = [m.removeprefix("slurm_search.") for m in distinct]
    return [
        f"one work_on loop iteration (claim -> evaluate -> report; iteration {ITERATION}, main thread):",
        f"  modules entered:            {len(distinct)}",
        f"  calls between modules:      {len(calls)}",
        f"  calls back up (callee imports caller): {len(back_up)}",
        f"  calls into session._view*:  {len(into_view)}",
        f"  modules: {', '.join(short)}",
        f"  back up: {_list(back_up)}",
        f"  into _view*: {_list(into_view)}",
    ]


def _list(calls: list[tuple[str, str, str]]) -> str:
    """`caller -> callee.function` for each call (x n when repeated), in first-seen order."""
    counts: dict[str, int] = {}
    for caller, callee, function in calls:
        key = f"{caller.rsplit('.', 1)[-1]} -> {callee.rsplit('.', 1)[-1]}.{function}"
        counts[key] = counts.get(key, 0) + 1
    return ", ".join(k + (f" x{n}" if n > 1 else "") for k, n in counts.items()) or "none"


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--trace":
        root = Path(sys.argv[2])
        print("\n".join(trace_loop(root)))
        return 0
    root = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else Path(__file__).resolve().parents[1]
    print(f"slurm-search at {root}")
    print("\n".join(size_table(root)))
    print()
    env = dict(os.environ)
    srcs = [str(p) for p in sorted((root / "packages").glob("*/src"))]
    env["PYTHONPATH"] = os.pathsep.join(srcs + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    with tempfile.TemporaryDirectory(prefix="arch-metrics-") as home:
        env["SLURM_SEARCH_HOME"] = home
        done = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--trace", str(root)],
            env=env, capture_output=True, text=True, check=False,
        )
    if done.returncode != 0:
        print(done.stdout + done.stderr, file=sys.stderr)
        return 1
    print(done.stdout, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
