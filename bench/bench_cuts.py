"""Trials that outlive their job (issue 23): cuts, preemption, and the cost of a checkpoint.

(a) cuts: 8 trials of 3 minutes (`tests/ckpt_objectives.py:stepper`, 180
    steps of 1 s, a checkpoint after every step) on the cluster of 3 nodes of
    scripts/slurm-cluster.sh, `short` partition, 1-minute jobs, 8 workers,
    generations until done. Read from the step log (one line per executed
    step) and the session's log: whether it finished, the executed
    step-seconds over the uninterrupted sum (8 x 180 x 1 s), steps redone,
    cuts, generations, and the attempts' own time (Claim to Suspend/Result)
    over the uninterrupted sum.
(b) preemption: 3 trials of 90 steps on `low` with `--requeue`; a job of
    `urgent` that needs every node whole preempts them, twice. Work lost per
    preemption (steps redone per cut), and the time from the preemption to
    the trial being handed back (the Suspend record).
(c) cost: `save_checkpoint` of a 1, 10 and 100 MB bytes object and
    `checkpoint_folder` with one file of the same size, inside a trial, with
    the store on the local disk and on a bindfs FUSE view of it
    (tests/fs_views.py): MB/s, the median of 3.

At the end the one-node cluster of the tests is put back (stop + start).

    .venv/bin/python bench/bench_cuts.py                 # about 10 minutes
    .venv/bin/python bench/bench_cuts.py --only cost     # no cluster needed, under a minute
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
SCRIPT = ROOT / "scripts" / "slurm-cluster.sh"
SSEARCH = str(Path(sys.executable).with_name("ssearch"))
sys.path[:0] = [str(TESTS), str(ROOT / "bench")]

from ckpt_objectives import attempts, read_steps  # noqa: E402

SIZES_MB = (1, 10, 100)


def run(argv, env=None, timeout=300, check=True) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, check=False)
    if check and proc.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, argv))} exited with {proc.returncode}: {proc.stdout}{proc.stderr}")
    return proc.stdout


def _env(home: Path) -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(TESTS), os.environ.get("PYTHONPATH", "")) if p)
    return dict(os.environ, SLURM_SEARCH_HOME=str(home), PYTHONPATH=path)


def _session(home: Path, trials: int, steps: int, log: Path) -> str:
    from hyperopt import hp

    from slurm_search import session

    os.environ["SLURM_SEARCH_HOME"] = str(home)
    return session.create_session(
        objective="ckpt_objectives:stepper", space={"x": hp.uniform("x", -1, 1)},
        context={"steps": steps, "sleep": 1.0, "log": str(log)}, algo="rand", max_evals=trials, seed=23,
        name=f"cuts_{uuid.uuid4().hex[:8]}", lease_seconds=20,
    )


def _wait(name: str, timeout: float, on_progress=None):
    from slurm_search import session

    deadline = time.monotonic() + timeout
    while (progress := session.progress(name)).status == "running":
        if time.monotonic() > deadline:
            return progress
        if on_progress is not None:
            on_progress()
        time.sleep(1)
    return progress


def _attempt_seconds(name: str) -> tuple[float, list]:
    """Sum over attempts of Claim to their Suspend or Result; the Suspend records."""
    from slurm_search import state

    records, _ = state.records(name)
    claimed = {}
    total = 0.0
    suspends = []
    for r in records:
        kind = type(r).__name__
        if kind == "Claim":
            claimed[(r.tid, r.attempt)] = r.time
        elif kind in ("Suspend", "Result") and (r.tid, r.attempt) in claimed:
            total += r.time - claimed.pop((r.tid, r.attempt))
            if kind == "Suspend":
                suspends.append(r)
    return total, suspends


def _summary(log: Path, trials: int, steps: int) -> tuple[int, int, float, list]:
    ran = read_steps(log)
    executed = sum(len(s) for s in ran.values())
    cuts = sum(len(attempts(s)) - 1 for s in ran.values())
    seconds = sum(step.end - step.start for s in ran.values() for step in s)
    per_attempt = [len(a) for s in ran.values() for a in attempts(s)]
    return executed - trials * steps, cuts, seconds, per_attempt


def cut_study(shared: Path, trials: int, minutes: float, workers: int) -> None:
    from slurm_search import session

    steps = round(minutes * 60)
    work = shared / f"bench-cuts-{uuid.uuid4().hex[:8]}"
    home, log = work / "home", work / "steps.log"
    home.mkdir(parents=True)
    name = _session(home, trials, steps, log)
    t0 = time.monotonic()
    run([SSEARCH, "restart", name, "--method=slurm", f"--workers={workers}", "--slurm:partition=short",
         "--slurm:time=1", "--slurm:generations=20"], env=_env(home))
    progress = _wait(name, 1800)
    wall = time.monotonic() - t0
    ideal = trials * steps * 1.0
    redone, cuts, seconds, per_attempt = _summary(log, trials, steps)
    attempt_seconds, suspends = _attempt_seconds(name)
    jobs = session.annotations(name).get("slurm_jobs", [])
    print(f"(a) cuts: {trials} trials of {steps} x 1 s on 1-minute jobs, {workers} workers: {progress.status}, "
          f"{progress.completed}/{trials} ok, {progress.failed} failed, in {wall:.0f} s and {len(jobs)} generations")
    print(f"    executed step-seconds {seconds:.0f} / uninterrupted {ideal:.0f} = {seconds / ideal:.3f}x; "
          f"steps redone {redone} over {cuts} cuts; handed back by Suspend: {len(suspends)}")
    print(f"    attempts' own time (Claim to Suspend/Result) {attempt_seconds:.0f} s = {attempt_seconds / ideal:.3f}x")
    print(f"    steps per attempt: median {statistics.median(per_attempt):.0f}, min {min(per_attempt)}, "
          f"max {max(per_attempt)}")


def _submit_urgent(nodes: int, seconds: int) -> str:
    return run(["sbatch", "--parsable", "--partition=urgent", "--exclusive", f"--nodes={nodes}",
                "--output=/dev/null", "--wrap", f"sleep {seconds}"]).strip().split(";")[0]


def preemption(shared: Path, nodes: int, trials: int, steps: int, times: int) -> None:
    work = shared / f"bench-preempt-{uuid.uuid4().hex[:8]}"
    home, log = work / "home", work / "steps.log"
    home.mkdir(parents=True)
    name = _session(home, trials, steps, log)
    run([SSEARCH, "restart", name, "--method=slurm", f"--workers={trials}", "--slurm:partition=low",
         "--slurm:requeue=true", f"--slurm:generations={times + 3}"], env=_env(home))
    preempted: list[tuple[str, float]] = []
    cut_at: dict[int, int] = {}  # tid -> its attempt when the last urgent job was submitted

    def maybe_preempt():
        if len(preempted) >= times:
            return
        ran = read_steps(log)
        if len(ran) < trials:
            return
        current = {tid: attempts(s)[-1] for tid, s in ran.items()}
        # Every trial runs again since the last preemption (a new attempt), with 10 steps done in it.
        if all(run[-1].attempt > cut_at.get(tid, 0) and len(run) >= 10 and run[-1].end > time.time() - 3
               for tid, run in current.items()):
            cut_at.update({tid: run[-1].attempt for tid, run in current.items()})
            preempted.append((_submit_urgent(nodes, 10), time.time()))

    t0 = time.monotonic()
    progress = _wait(name, 900, maybe_preempt)
    wall = time.monotonic() - t0
    redone, cuts, _, per_attempt = _summary(log, trials, steps)
    _, suspends = _attempt_seconds(name)
    delays = []
    for _, at in preempted:
        after = [s.time - at for s in suspends if s.time >= at and "SIGTERM" in s.reason]
        if after:
            delays.append(min(after))
    print(f"(b) preemption: {trials} trials of {steps} x 1 s on `low`, preempted {len(preempted)} times by "
          f"`urgent`: {progress.status}, {progress.completed}/{trials} ok in {wall:.0f} s")
    print(f"    cuts {cuts}, steps redone {redone} ({redone / max(1, cuts):.2f} per cut; a checkpoint every step); "
          f"Suspend records after SIGTERM: {sum('SIGTERM' in s.reason for s in suspends)}")
    if delays:
        print(f"    urgent job submitted -> first trial handed back: {', '.join(f'{d:.1f} s' for d in delays)} "
              f"(Slurm's scheduling pass and the SIGTERM included)")


# --- (c) the cost of a checkpoint write -------------------------------------

def measure(params: dict, context: dict) -> float:
    """The objective of (c): times checkpoint writes of each size, writes the timings as JSON."""
    from slurm_search import session

    timings: dict[str, list[float]] = {}
    for mb in context["sizes"]:
        data = os.urandom(mb << 20)
        for _ in range(context["repeat"]):
            t = time.perf_counter()
            session.save_checkpoint(data)
            timings.setdefault(f"object {mb}", []).append(time.perf_counter() - t)
            t = time.perf_counter()
            with session.checkpoint_folder() as folder:
                (folder / "state.bin").write_bytes(data)
            timings.setdefault(f"folder {mb}", []).append(time.perf_counter() - t)
        del data
    Path(context["out"]).write_text(json.dumps(timings))
    return 0.0


def _cost_on(home: Path, sizes: tuple[int, ...], repeat: int) -> dict[str, list[float]]:
    from hyperopt import hp

    from slurm_search import session

    os.environ["SLURM_SEARCH_HOME"] = str(home)
    out = home.parent / f"timings-{uuid.uuid4().hex[:6]}.json"
    name = session.create_session(objective="bench_cuts:measure", space={"x": hp.uniform("x", 0, 1)},
                                  context={"sizes": list(sizes), "repeat": repeat, "out": str(out)},
                                  max_evals=1, lease_seconds=300)
    session.work_on(name)
    return json.loads(out.read_text())


def cost(sizes: tuple[int, ...], repeat: int) -> None:
    import fs_views

    print(f"(c) checkpoint write cost, median of {repeat} (MB/s; seconds):")
    with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp:
        rows = {"local disk": _cost_on(Path(tmp) / "home", sizes, repeat)}
        why = fs_views.missing()
        if why is None:
            with fs_views.mounted(Path(tmp), "coherent", count=1) as (view,):
                rows["FUSE view (bindfs)"] = _cost_on(view / "home", sizes, repeat)
        else:
            print(f"    (no FUSE view: {why})")
    for where, timings in rows.items():
        for kind in ("object", "folder"):
            cells = []
            for mb in sizes:
                sec = statistics.median(timings[f"{kind} {mb}"])
                cells.append(f"{mb:>3} MB {mb / sec:7.0f} MB/s ({sec * 1e3:6.1f} ms)")
            label = "save_checkpoint" if kind == "object" else "checkpoint_folder"
            print(f"    {where:<19} {label:<18} " + "  ".join(cells))


# --- the cluster ---------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["cuts", "preemption", "cost"], action="append")
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--minutes", type=float, default=3.0, help="length of a trial (cut study)")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--preemptions", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--keep-cluster", action="store_true", help="leave the cluster of nodes up at the end")
    args = parser.parse_args()
    only = set(args.only or ["cuts", "preemption", "cost"])

    if "cost" in only:
        cost(SIZES_MB, args.repeat)
    if not only & {"cuts", "preemption"}:
        return
    while run(["squeue", "-h"], check=False).strip():
        print("waiting for the queue to be empty", file=sys.stderr)
        time.sleep(5)
    t0 = time.monotonic()
    run(["bash", str(SCRIPT), "start", "--nodes", str(args.nodes)])
    print(f"{args.nodes} nodes up in {time.monotonic() - t0:.1f} s")
    shared = Path(run(["bash", str(SCRIPT), "shared"]).strip())
    works = set(shared.iterdir())
    try:
        if "cuts" in only:
            cut_study(shared, args.trials, args.minutes, args.workers)
        if "preemption" in only:
            preemption(shared, args.nodes, 3, 90, args.preemptions)
    finally:
        subprocess.run(["scancel", "-u", str(os.getuid())], check=False)
        for path in set(shared.iterdir()) - works:
            shutil.rmtree(path, ignore_errors=True)
        if not args.keep_cluster:
            run(["bash", str(SCRIPT), "stop"], check=False)
            run(["bash", str(SCRIPT), "start"])


if __name__ == "__main__":
    main()
