"""64 Slurm workers over 3 nodes on one session: trials/s and the session lock's hold time.

Sets up the cluster of 3 nodes of scripts/slurm-cluster.sh (README, "A cluster
of several nodes") with enough CPUs declared per node for every task to run at
once (SLURM_CLUSTER_CPUS, OverSubscribe=FORCE:4: 4 tasks per declared CPU),
starts ``ssearch start demo sleep=S max_evals=N --method=slurm --workers=W``
with its store in the shared folder, waits for the end, then reads the store:

* trials/s: N over the time from the first Claim to the last Result (the
  ideal is W/S: every worker always busy), and over the steady part (from the
  10th to the 90th percentile of the Result times), with the most trials in
  flight at once (Claims not yet answered by a Result).
* the lock: every claim or report is one hold of the session's lock with one
  append. (a) The gap between consecutive holds (Claim/Result/Renew times,
  sorted) while workers wait for the lock bounds a hold from above: its
  median over the steady part. (b) Measured: W=0 contention, the login node
  times `session.annotate` (take the lock, append one record, release) 50
  times on the same store: a hold with nothing else going on.

At the end the one-node cluster of the tests is put back (stop + start).

    .venv/bin/python bench/bench_multinode.py            # about 3 minutes
    .venv/bin/python bench/bench_multinode.py --workers 32 --trials 320 --sleep 1
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import struct
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "slurm-cluster.sh"
SSEARCH = str(Path(sys.executable).with_name("ssearch"))


def run(argv, env=None, timeout=300, check=True) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, check=False)
    if check and proc.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, argv))} exited with {proc.returncode}: {proc.stdout}{proc.stderr}")
    return proc.stdout


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=64)
    parser.add_argument("--trials", type=int, default=640)
    parser.add_argument("--sleep", type=float, default=1.0)
    parser.add_argument("--lease", type=float, default=None,
                        help="lease_seconds (renewed every third; default: the session's)")
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--locks", default="coherent", choices=["coherent", "node-local"])
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--keep-cluster", action="store_true", help="leave the cluster of nodes up at the end")
    args = parser.parse_args()

    while run(["squeue", "-h"], check=False).strip():
        print("waiting for the queue to be empty", file=sys.stderr)
        time.sleep(5)
    slots_per_node = -(-args.workers // args.nodes)
    cpus = max(os.cpu_count() or 1, -(-slots_per_node // 4))  # OverSubscribe=FORCE:4
    env = dict(os.environ, SLURM_CLUSTER_CPUS=str(cpus))
    t0 = time.monotonic()
    run(["bash", str(SCRIPT), "start", "--nodes", str(args.nodes), "--locks", args.locks], env=env)
    print(f"{args.nodes} nodes with {cpus} CPUs each ({args.locks} views) up in {time.monotonic() - t0:.1f} s")
    shared = Path(run(["bash", str(SCRIPT), "shared"]).strip())
    work = shared / f"bench-multinode-{uuid.uuid4().hex[:8]}"
    home = work / "home"
    home.mkdir(parents=True)
    os.environ["SLURM_SEARCH_HOME"] = str(home)
    name = "bench"
    holds_dir = work / "holds"
    holds_dir.mkdir()
    # Every worker records its holds of the session's lock (bench/lockspy).
    spy = os.pathsep.join([str(ROOT / "bench" / "lockspy"), str(ROOT / "bench")])
    env = dict(os.environ, PYTHONPATH=spy, SLURM_SEARCH_BENCH_LOCK=f"search:{name}",
               SLURM_SEARCH_BENCH_HOLDS=str(holds_dir))
    from slurm_search import session, state

    try:
        lease = [f"lease_seconds={args.lease}"] if args.lease else []
        run([SSEARCH, "start", "demo", f"name={name}", f"sleep={args.sleep}", f"max_evals={args.trials}", *lease,
             "--method=slurm", f"--workers={args.workers}", "--slurm:partition=debug"], env=env)
        full = session.session_name(name)
        submitted = time.time()
        deadline = time.monotonic() + args.timeout
        while (progress := session.progress(full)).status == "running":
            if time.monotonic() > deadline:
                raise SystemExit(f"not done after {args.timeout:.0f} s: {progress}")
            time.sleep(2)
        records, _ = state.records(full)
        claims = [r for r in records if type(r).__name__ == "Claim"]
        results = [r for r in records if type(r).__name__ == "Result"]
        # Distinct record times (a Result's time is its own, not always its hold's: an upper count of holds).
        holds = sorted({r.time for r in records if type(r).__name__ in ("Claim", "Result", "Renew", "Expire")})
        owners = {doc["owner"].split(":")[0] for doc in session.trial_docs(full)}

        first, last = min(c.time for c in claims), max(r.time for r in results)
        wall = last - first
        ends = sorted(r.time for r in results)
        lo, hi = percentile(ends, 0.1), percentile(ends, 0.9)
        steady = sum(lo <= t <= hi for t in ends) / (hi - lo) if hi > lo else float("nan")
        events = sorted([(c.time, 1) for c in claims] + [(r.time, -1) for r in results])
        flying = peak = 0
        for _, step in events:
            flying += step
            peak = max(peak, flying)
        # Holds one after the other: consecutive times (distinct holds) in the steady part.
        inside = [t for t in holds if lo <= t <= hi]
        gaps = [b - a for a, b in zip(inside, inside[1:])]
        # One uncontended hold, measured: annotate = lock, append, release.
        timings = []
        for i in range(50):
            t = time.perf_counter()
            session.annotate(full, "bench_probe", i)
            timings.append(time.perf_counter() - t)
        ideal = args.workers / args.sleep
        print(f"{progress.completed}/{args.trials} ok, {progress.failed} failed; trials ran on {sorted(owners)}")
        print(f"first claim {first - submitted:.1f} s after the submission (workers starting)")
        print(f"trials/s, first claim to last result: {args.trials / wall:.1f} ({wall:.1f} s; ideal {ideal:.0f}/s)")
        print(f"trials/s, steady part (10%-90% of results): {steady:.1f}; most trials in flight: {peak}")
        print(f"records (distinct times) in the steady part: {len(inside)}, gap between consecutive ones: "
              f"median {statistics.median(gaps) * 1e3:.1f} ms, p10 {percentile(gaps, 0.1) * 1e3:.1f} ms")
        print(f"one uncontended hold (annotate, from the login node): "
              f"median {statistics.median(timings) * 1e3:.1f} ms, p90 {percentile(timings, 0.9) * 1e3:.1f} ms")
        print(f"distinct record times per trial: {len(holds) / max(1, len(results)):.2f}")
        _print_holds(holds_dir, progress.completed)
    finally:
        subprocess.run(["scancel", "-u", str(os.getuid())], check=False)
        shutil.rmtree(work, ignore_errors=True)
        if not args.keep_cluster:
            run(["bash", str(SCRIPT), "stop"], check=False)
            run(["bash", str(SCRIPT), "start"])


def _print_holds(folder: Path, trials: int) -> None:
    """The session lock's holds, as every worker recorded them (bench/lockspy)."""
    deadline = time.monotonic() + 30  # workers write theirs as they exit
    while time.monotonic() < deadline and run(["squeue", "-h"], check=False).strip():
        time.sleep(1)
    rows = sorted(row for f in folder.iterdir() for row in struct.iter_unpack("<ddddd", f.read_bytes()))
    spans = [(a, b) for a, b, *_ in rows]
    if not spans:
        print("no holds recorded (bench/lockspy not loaded by the workers?)")
        return
    held = sum(b - a for a, b in spans)
    wall = spans[-1][1] - spans[0][0]
    overlaps = sum(1 for (_, end), (start, _) in zip(spans, spans[1:]) if start < end)
    ops = len(spans) / max(1, trials)
    mean = held / len(spans)
    print(f"session lock, as the {len(list(folder.iterdir()))} workers recorded it: {len(spans)} holds, "
          f"{ops:.2f} per trial, mean hold {mean * 1e3:.2f} ms, utilisation {held / wall:.1%} "
          f"(held over first to last hold), overlapping holds: {overlaps}")
    lengths = sorted(b - a for a, b in spans)
    print(f"hold lengths: median {statistics.median(lengths) * 1e3:.2f} ms, "
          f"p90 {percentile(lengths, 0.9) * 1e3:.2f} ms, longest {lengths[-1] * 1e3:.1f} ms")
    print(f"projection, 1,000 workers with 60 s trials: {1000 / 60 * ops * mean:.1%} of the lock")
    for label, part in (("over 50 ms", [r for r in rows if r[1] - r[0] > 0.05]),
                        ("up to 50 ms", [r for r in rows if r[1] - r[0] <= 0.05])):
        if part:
            med = lambda i, part=part: statistics.median(r[i] for r in part) * 1e3  # noqa: E731
            held = statistics.median(r[1] - r[0] for r in part) * 1e3
            print(f"holds {label}: {len(part)}, median {held:.1f} ms held, of which CPU {med(2):.1f} ms, "
                  f"waiting for a core {med(3):.1f} ms (the rest blocked in calls: the filesystem); "
                  f"{statistics.median(r[4] for r in part):.0f} voluntary switches")
    # The same without the start (every worker's first claim while the
    # others still start their interpreters) and the end: the middle 80%.
    lo, hi = spans[0][0] + 0.1 * wall, spans[0][0] + 0.9 * wall
    middle = [b - a for a, b in spans if lo <= a <= hi]
    if middle:
        held_mid = sum(middle)
        print(f"middle 80% of the time: {len(middle)} holds, mean {held_mid / len(middle) * 1e3:.2f} ms, "
              f"median {statistics.median(middle) * 1e3:.2f} ms, longest {max(middle) * 1e3:.1f} ms, "
              f"utilisation {held_mid / (hi - lo):.1%}; projection {1000 / 60 * ops * held_mid / len(middle):.1%}")


if __name__ == "__main__":
    main()
