"""Benchmark: how much of the session's lock many workers use (lease renewals off the lock).

W local worker processes (forked from this one, after the imports, so 256 of
them fit in memory) run `work_on` on one session of sleep objectives whose
trials outlast a third of the lease, so every trial renews its lease a few
times. Every acquisition and release of the session's lock, in every worker,
is recorded (the lock backends of slurm_search.locking are wrapped, so old
and new code are measured alike). Prints, per W:

- lock operations per trial (acquisitions of the session's lock / trials);
- lock utilisation: the time the lock was held, summed over all holders,
  over the time from the first acquisition to the last release;
- mean hold (ms), trials/s, trials taken over (attempt > 1: a live holder
  must never lose its trial);
- a projection for 1,000 workers with 60 s trials: (1000 / 60) trials/s x
  operations per trial x mean hold.

`--baseline DIR` runs the same with the session and state packages
from DIR (e.g. `git archive e3cc321 packages | tar -x -C /tmp/base`), first
on sys.path: the code before renewals left the lock.

    .venv/bin/python bench/bench_renewals.py                       # W = 64 and 256, 6 s trials, 6 s lease
    .venv/bin/python bench/bench_renewals.py --workers 64 --baseline /tmp/base
"""

from __future__ import annotations

import argparse
import os
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()


def _prepend(base: str | None) -> None:
    if base:
        for part in ("state", "session"):  # the lock itself is the same on both sides
            sys.path.insert(0, str(Path(base) / "packages" / part / "src"))


def _thread_detail() -> tuple[float, float, int]:
    """The calling thread's CPU seconds, seconds runnable but waiting for a core, voluntary switches."""
    import resource

    with open("/proc/thread-self/schedstat") as f:
        queued = int(f.read().split()[1]) / 1e9
    return time.thread_time(), queued, resource.getrusage(resource.RUSAGE_THREAD).ru_nvcsw


def _instrument(lock_name: str, record: list[tuple], detail: bool = False) -> None:
    """Record each hold of lock `lock_name` in this process: (acquired, released).

    With `detail`, also what the holding thread did meanwhile: (CPU seconds,
    seconds waiting for a core, voluntary context switches) (bench_multinode
    via bench/lockspy).
    """
    from slurm_search.locking import _flock, _soft

    for cls in (_flock.FlockBackend, _soft.SoftBackend):
        real_acquire, real_release = cls.acquire, cls.release

        def acquire(self, deadline, _real=real_acquire):
            ok = _real(self, deadline)
            if ok and Path(self._path).name.rsplit(".", 1)[0] == lock_name:
                self._bench_at = (time.time(), _thread_detail() if detail else ())
            return ok

        def release(self, _real=real_release):
            at = getattr(self, "_bench_at", None)
            if at is not None:
                start, before = at
                after = _thread_detail() if detail else ()
                record.append((start, time.time(), *(b - a for a, b in zip(before, after, strict=True))))
                self._bench_at = None
            return _real(self)

        cls.acquire, cls.release = acquire, release


def run(workers: int, trials_per_worker: int, sleep: float, lease: float) -> dict:
    from slurm_search import session, state
    from slurm_search.session import demo
    from slurm_search.session._events import Claim

    name = session.create_session(
        demo.objective, demo.space(), algo="rand", max_evals=workers * trials_per_worker, seed=1,
        lease_seconds=lease, context={"sleep": sleep},
    )
    # Import and compile everything before forking (the children share it).
    from slurm_search.session._view import view

    view(name).refresh()
    view(name).derived.space_and_domain(view(name).state)
    out = Path(os.environ["SLURM_SEARCH_HOME"]) / "holds"
    out.mkdir()
    start = time.time()
    pids = []
    for i in range(workers):
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                record: list[tuple[float, float]] = []
                _instrument(name, record)
                session.work_on(name, worker_id=f"w{i}")
                (out / str(i)).write_bytes(b"".join(struct.pack("<dd", a, b) for a, b in record))
            except BaseException:  # noqa: BLE001 - report and leave
                import traceback

                traceback.print_exc()
                code = 1
            os._exit(code)
        pids.append(pid)
    failed = sum(1 for pid in pids if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) != 0)
    wall = time.time() - start
    holds = []
    for f in out.iterdir():
        data = f.read_bytes()
        holds.extend(struct.iter_unpack("<dd", data))
    recs, _ = state.records(name)
    claims = [r for r in recs if isinstance(r, Claim)]
    progress = session.progress(name)
    first, last = min(a for a, _ in holds), max(b for _, b in holds)
    held = sum(b - a for a, b in holds)
    n = progress.completed
    return {
        "workers": workers,
        "trials": n,
        "failed_workers": failed,
        "taken_over": sum(1 for c in claims if c.attempt > 1),
        "lock_ops": len(holds),
        "ops_per_trial": len(holds) / n,
        "utilisation": held / (last - first),
        "mean_hold_ms": 1000 * held / len(holds),
        "median_hold_ms": 1000 * statistics.median(b - a for a, b in holds),
        "trials_per_s": n / wall,
        "records_per_trial": len(recs) / n,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--trials-per-worker", type=int, default=3)
    parser.add_argument("--sleep", type=float, default=6.0, help="seconds per trial")
    parser.add_argument("--lease", type=float, default=6.0, help="lease_seconds (renewed every third)")
    parser.add_argument("--baseline", help="a folder holding packages/{locking,state,session}/src")
    parser.add_argument("--store", help="folder for the stores (default: a temporary one on /tmp)")
    args = parser.parse_args()
    _prepend(args.baseline)
    label = "baseline" if args.baseline else "this tree"
    print(f"{label}: sleep {args.sleep} s trials, lease {args.lease} s, "
          f"{args.trials_per_worker} trials per worker", flush=True)
    print(f"{'W':>4} {'trials':>6} {'lock ops/trial':>14} {'utilisation':>11} {'mean hold':>10} "
          f"{'trials/s':>8} {'taken over':>10} {'records/trial':>13} {'1000 x 60 s projection':>23}", flush=True)
    for w in args.workers:
        with tempfile.TemporaryDirectory(dir=args.store) as tmp:
            os.environ["SLURM_SEARCH_HOME"] = str(Path(tmp) / "home")
            r = run(w, args.trials_per_worker, args.sleep, args.lease)
        projection = 1000 / 60 * r["ops_per_trial"] * r["mean_hold_ms"] / 1000
        print(f"{w:4d} {r['trials']:6d} {r['ops_per_trial']:14.2f} {r['utilisation']:11.1%} "
              f"{r['mean_hold_ms']:8.2f}ms {r['trials_per_s']:8.1f} {r['taken_over']:10d} "
              f"{r['records_per_trial']:13.2f} {projection:22.1%}", flush=True)
        if r["failed_workers"]:
            print(f"     {r['failed_workers']} workers failed", flush=True)


if __name__ == "__main__":
    main()
