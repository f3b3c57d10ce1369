"""Benchmark: our session and Optuna's journal file side by side on a slow shared
filesystem (bench/slowfs.py: a FUSE passthrough with NFS-like latencies).

Mounts slowfs over a temporary folder (needs fusepy and /dev/fuse; root or
fuse group), then runs bench_session's workload on it (no-op objective,
`rand`, N trials, W local worker processes; the store, or Optuna's journal
file, on the mount) for each W, both systems taking turns, `--repeats`
times; prints the median trials/s and the ratio. Then bench_renewals on the
mount (sleep objectives, W workers): the session lock's operations per
trial and mean hold on this filesystem, and the projection for 1,000
workers with 60 s trials: (1000 / 60) trials/s x operations per trial x
mean hold, the fraction of time the lock would be held.

Skips with a message when fusepy or optuna is not installed (both are bench
dependencies only: `.venv/bin/pip install fusepy optuna`).

    .venv/bin/python bench/bench_slowfs.py                    # about 5 minutes
    .venv/bin/python bench/bench_slowfs.py --workers 4 16 --trials 200 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _mount(backing: str, mountpoint: str, args: argparse.Namespace) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "slowfs.py"), backing, mountpoint, "--meta-ms", str(args.meta_ms),
         "--data-ms", str(args.data_ms), "--fsync-ms", str(args.fsync_ms)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.time() + 30
    while not os.path.ismount(mountpoint):
        if proc.poll() is not None or time.time() > deadline:
            raise RuntimeError(f"slowfs did not mount: {proc.stderr.read() if proc.poll() is not None else ''}")
        time.sleep(0.1)
    return proc


def _unmount(mountpoint: str, proc: subprocess.Popen) -> None:
    subprocess.run(["fusermount", "-u", mountpoint], check=False)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[4, 16])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--meta-ms", type=float, default=1.0)
    parser.add_argument("--data-ms", type=float, default=0.5)
    parser.add_argument("--fsync-ms", type=float, default=5.0)
    parser.add_argument("--renewal-workers", type=int, default=16)
    args = parser.parse_args()
    try:
        import fuse  # noqa: F401
        import optuna  # noqa: F401
    except ImportError as err:
        print(f"bench_slowfs: skipped: {err.name} is not installed (.venv/bin/pip install fusepy optuna)")
        return 0
    if not os.path.exists("/dev/fuse"):
        print("bench_slowfs: skipped: no /dev/fuse")
        return 0
    sys.path.insert(0, str(HERE))
    import bench_session

    with tempfile.TemporaryDirectory() as backing, tempfile.TemporaryDirectory() as mountpoint:
        proc = _mount(backing, mountpoint, args)
        try:
            print(f"slowfs: {args.meta_ms} ms per metadata op, {args.data_ms} ms per read/write, "
                  f"{args.fsync_ms} ms per fsync; rand, {args.trials} no-op trials", flush=True)
            print(f"{'system':8} {'W':>3} {'trials/s (median)':>18}   runs", flush=True)
            rows = {}
            for w in args.workers:
                runs: dict[str, list[float]] = {"ours": [], "optuna": []}
                for _ in range(args.repeats):
                    for system, run in (("ours", bench_session.run_ours), ("optuna", bench_session.run_optuna)):
                        out = run("rand", args.trials, w, 900, where=mountpoint)
                        runs[system].append(out["completed"] / out["seconds"])
                for system, rates in runs.items():
                    rows[(system, w)] = statistics.median(rates)
                    print(f"{system:8} {w:3d} {rows[(system, w)]:18.1f}   "
                          f"{' '.join(f'{r:.1f}' for r in rates)}", flush=True)
            for w in args.workers:
                print(f"ratio ours/optuna W={w}: {rows[('ours', w)] / rows[('optuna', w)]:.2f}x", flush=True)
            print(flush=True)
            subprocess.run(
                [sys.executable, str(HERE / "bench_renewals.py"), "--workers", str(args.renewal_workers),
                 "--trials-per-worker", "3", "--sleep", "2", "--lease", "6", "--store", mountpoint],
                check=False,
            )
        finally:
            _unmount(mountpoint, proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
