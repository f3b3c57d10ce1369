"""Benchmark: big stores. A fresh process on a session of 100,000 trials, and
`ssearch list --all` over 500 sessions.

The sessions are written the way workers write them (one frame per trial:
the previous trial's Result and the next Claim, as `claim_and_report`
appends them; checkpoints written whenever the event count crosses a
multiple of `_snapshots.EVERY`, as the crossing worker writes them), but
without fsync, so that making 100,000 trials takes seconds, not minutes.
`--tail` leaves that many trials after the last checkpoint (the worst case
is EVERY / 2 trials: two events each).

In fresh Python processes (median of `--repeats`):
- `import slurm_search.session`, then `progress(name)`;
- `import slurm_search.session`, then the first `next_trial(name)` (with the
  import of hyperopt it triggers; and again with hyperopt imported first);
- on 100 and on N trials, and the ratio.
Then bytes per trial (log, checkpoint), and `ssearch list --all` over
`--sessions` done sessions of 100 trials (the first listing writes each
session's checkpoint; the figure is the median of the listings after it).

    .venv/bin/python bench/bench_bigstore.py                 # about 3 minutes
    .venv/bin/python bench/bench_bigstore.py --trials 100000 --tail 2499 --sessions 500
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROGRESS = """
import sys, time
t0 = time.perf_counter()
from slurm_search import session
t1 = time.perf_counter()
session.progress(sys.argv[1])
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""

CLAIM = """
import sys, time
t0 = time.perf_counter()
from slurm_search import session
if sys.argv[2] == "hyperopt-first":
    import hyperopt.rand, slurm_search.session._space
t1 = time.perf_counter()
session.next_trial(sys.argv[1], "bench")
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def make_session(name: str, n: int, max_evals: int, tail: int = 0, checkpoints: bool = True) -> None:
    """A session of `n` ok trials written as workers write it (without fsync)."""
    from slurm_search import session, state
    from slurm_search.session import _snapshots, demo
    from slurm_search.session._events import Claim, Result
    from slurm_search.session._view import View

    session.create_session(demo.objective, demo.space(), algo="rand", max_evals=max_evals, seed=1, name=name)
    real_fsync = os.fsync
    os.fsync = lambda fd: None
    try:
        v = View(f"search:{name}")
        v.refresh()
        rng = random.Random(1)
        t = time.time()
        prev = None
        for tid in range(n):
            x, y = rng.uniform(-2, 2), rng.uniform(-2, 2)
            worker = f"node{tid % 8}:{1000 + tid % 64}"
            recs = [prev] if prev is not None else []
            recs.append(Claim(tid, worker, 1, t + 60, t, {"x": [x], "y": [y]}))
            prev = Result(tid, worker, 1, {"loss": x * x + y * y, "status": "ok"}, t + 0.01, 0.01)
            before = v.state.events
            v.apply_all(recs)
            v.position = state.append(v.name, *recs)
            if checkpoints and tid < n - tail and _snapshots.crossed(before, v.state.events):
                _snapshots.write(v, wait=True)
        v.apply_all([prev])
        v.position = state.append(v.name, prev)
        if checkpoints and tail == 0 and n >= max_evals:
            _snapshots.write(v, wait=True)  # the worker that finishes a session writes one
    finally:
        os.fsync = real_fsync


def fresh(code: str, *args: str) -> tuple[float, float]:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    a, b = out.stdout.split()
    return float(a), float(b)


def median_of(repeats: int, code: str, *args: str) -> tuple[float, float]:
    runs = [fresh(code, *args) for _ in range(repeats)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=100_000)
    parser.add_argument("--tail", type=int, default=0, help="trials after the last checkpoint")
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SLURM_SEARCH_HOME"] = str(Path(tmp) / "home")
        from slurm_search import state

        start = time.perf_counter()
        make_session("small", 100, 100 + 10 * args.repeats)
        make_session("big", args.trials, args.trials + 10 * args.repeats, tail=args.tail)
        print(f"made sessions of 100 and {args.trials} trials (tail {args.tail}) "
              f"in {time.perf_counter() - start:.1f} s", flush=True)
        rows = {}
        for label in ("small", "big"):
            name = f"search:{label}"
            _, prog = median_of(args.repeats, PROGRESS, name)
            imp, claim = median_of(args.repeats, CLAIM, name, "cold")
            _, claim_warm = median_of(args.repeats, CLAIM, name, "hyperopt-first")
            rows[label] = (prog, claim, claim_warm)
            print(f"{label:6} import {imp:.3f} s  progress {prog:.3f} s  first claim {claim * 1000:.0f} ms "
                  f"(hyperopt imported first: {claim_warm * 1000:.0f} ms)", flush=True)
        s, b = rows["small"], rows["big"]
        print(f"ratio big/small: progress {b[0] / s[0]:.2f}x, first claim {b[1] / s[1]:.2f}x "
              f"(hyperopt imported first: {b[2] / s[2]:.2f}x)")
        paths = state.paths("search:big")
        log = paths.log.stat().st_size
        cp = (paths.dir / "checkpoint.pickle").stat().st_size
        print(f"bytes per trial: log {log / args.trials:.0f}, checkpoint {cp / args.trials:.0f}", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SLURM_SEARCH_HOME"] = str(Path(tmp) / "home")
        start = time.perf_counter()
        for i in range(args.sessions):
            make_session(f"s{i:04d}", 100, 100)
        print(f"made {args.sessions} done sessions of 100 trials in {time.perf_counter() - start:.1f} s", flush=True)
        ssearch = str(Path(sys.executable).with_name("ssearch"))

        def listing() -> tuple[float, int]:
            start = time.perf_counter()
            out = subprocess.run([ssearch, "list", "--all"], capture_output=True, text=True, check=True)
            return time.perf_counter() - start, len(out.stdout.strip().splitlines())

        warm = [listing() for _ in range(args.repeats)]
        print(f"ssearch list --all over {args.sessions} sessions ({warm[0][1]} lines), each with the checkpoint "
              f"its last worker wrote: median {statistics.median(t for t, _ in warm):.2f} s", flush=True)
        for path in Path(os.environ["SLURM_SEARCH_HOME"]).glob("search/*/checkpoint.pickle"):
            path.unlink()
        cold, _ = listing()
        again = statistics.median(listing()[0] for _ in range(args.repeats))
        print(f"  without checkpoints (sessions written before them): first {cold:.2f} s (it writes them), "
              f"then {again:.2f} s", flush=True)


if __name__ == "__main__":
    main()
