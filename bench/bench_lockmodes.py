"""Lock modes side by side: flock and soft (lease files), on the local disk
and on a FUSE view, and the default `auto` against the code before it.

    .venv/bin/python bench/bench_lockmodes.py [--seconds S] [--repeats R] [--baseline REF]

Each cell is the rate of one loop in W processes on one name, for S seconds:
  * transaction/s: `state.transaction` of a 1 KB object (read, +1, write back);
  * append/s: `state.append` of one 256-byte record.
Configurations:
  * `baseline flock, local`: the store as it was at git REF (default: the
    commit before `auto`), exported with `git archive` and put first on
    PYTHONPATH: today's flock path before this change;
  * `auto, local`: the default now (on a local disk auto chooses flock, and
    every write is checked and fenced);
  * `soft, local`: lease files on the local disk;
  * `auto, fuse` and `flock, fuse`: on a bindfs view of a local folder (auto
    chooses soft there; flock is forced, for comparison; needs root and bindfs).
The configurations take turns, R rounds, and each cell reports the median:
the machine's speed drifts, so compare cells of one run, never across runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PARTS = ("locking", "state")
DEFAULT_BASELINE = "c88a092"

LOOP = textwrap.dedent(
    """
    import sys, time
    from slurm_search import state
    kind, name, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    sys.stdout.write("ready\\n"); sys.stdout.flush()
    sys.stdin.readline()
    deadline, n = time.monotonic() + seconds, 0
    pad = b"x" * 216
    while time.monotonic() < deadline:
        if kind == "transaction":
            with state.transaction(name) as box:
                box.value["n"] += 1
        else:
            state.append(name, (n, pad))
        n += 1
    print(n)
    """
)


def _export(ref: str, into: Path) -> list[str]:
    """The src folders of the locking and state packages at git ``ref``."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", ref, *(f"packages/{p}/src" for p in PARTS)],
        check=True,
        capture_output=True,
    ).stdout
    into.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return [str(into / "packages" / p / "src") for p in PARTS]


def _rate(home: Path, kind: str, workers: int, seconds: float, env: dict[str, str]) -> float:
    name = f"bench:{kind}{time.monotonic_ns()}"
    environ = dict(os.environ, SLURM_SEARCH_HOME=str(home), **env)
    setup = "from slurm_search import state; state.create(%r, {'n': 0, 'pad': b'x' * 1000})" % name
    subprocess.run([sys.executable, "-c", setup], env=environ, check=True)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", LOOP, kind, name, str(seconds)],
            env=environ,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    for p in procs:
        assert p.stdout.readline().strip() == "ready"
    for p in procs:  # go
        p.stdin.write("go\n")
        p.stdin.flush()
    total = sum(int(p.communicate()[0].split()[-1]) for p in procs)
    return total / seconds


def _mount_view(tmp: Path) -> Path | None:
    if os.geteuid() != 0 or shutil.which("bindfs") is None:
        return None
    back, view = tmp / "backing", tmp / "view"
    back.mkdir()
    view.mkdir()
    subprocess.run(["bindfs", "--no-allow-other", str(back), str(view)], check=True)
    return view


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="git ref of the baseline")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-lockmodes-"))
    view = None
    try:
        old = _export(args.baseline, tmp / "baseline")
        baseline_env = {"PYTHONPATH": os.pathsep.join(old), "SLURM_SEARCH_LOCK": "flock"}
        view = _mount_view(tmp)
        configs = [
            ("baseline flock, local", tmp / "local", baseline_env),
            ("auto, local", tmp / "local", {"SLURM_SEARCH_LOCK": ""}),
            ("soft, local", tmp / "local-soft", {"SLURM_SEARCH_LOCK": "soft"}),
        ]
        if view is not None:
            configs += [
                ("auto, fuse", view / "auto", {"SLURM_SEARCH_LOCK": ""}),
                ("flock, fuse", view / "flock", {"SLURM_SEARCH_LOCK": "flock"}),
            ]
        else:
            print("(no FUSE rows: they need root and bindfs)")
        rates: dict[tuple[str, str, int], list[float]] = {}
        for _ in range(args.repeats):
            for kind in ("transaction", "append"):
                for workers in args.workers:
                    for label, home, env in configs:
                        # The baseline and auto share a store that predates the
                        # lock-mode record: start each cell from a fresh one.
                        cell_home = home / f"{kind}-{workers}-{time.monotonic_ns()}"
                        rate = _rate(cell_home, kind, workers, args.seconds, env)
                        rates.setdefault((label, kind, workers), []).append(rate)
        print(f"{'configuration':<24}{'kind':<13}{'W':>3}{'median/s':>11}{'min':>9}{'max':>9}")
        for (label, kind, workers), values in rates.items():
            print(
                f"{label:<24}{kind:<13}{workers:>3}{statistics.median(values):>11.0f}"
                f"{min(values):>9.0f}{max(values):>9.0f}"
            )
        print()
        for kind in ("transaction", "append"):
            for workers in args.workers:
                base = statistics.median(rates[("baseline flock, local", kind, workers)])
                for label, _, _ in configs[1:]:
                    ratio = statistics.median(rates[(label, kind, workers)]) / base
                    print(f"{label:<14} / baseline flock, local  {kind:<12} W={workers}: {ratio:5.2f}x")
        return 0
    finally:
        if view is not None:
            subprocess.run(["fusermount", "-u", str(view)], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
