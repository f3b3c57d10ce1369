"""Benchmark: slurm_search.session against Optuna's journal-file storage.

Runs the same workload on both: a no-op objective (x**2 + y**2, x and y
uniform on [-2, 2]), N trials, W local worker processes, `rand` / `tpe`
(Optuna: RandomSampler / TPESampler on a JournalStorage over a
JournalFileBackend, which, like our store, appends under a file lock and
fsyncs). Prints a table of

- trials/s: N / (time from "go" until the last worker finished its last
  trial); the workers are started, have imported everything and built their
  search space before "go", so process start-up is not counted;
- claim latency: mean seconds a worker waits for its next trial's
  parameters, over the first and the last 10% of trials. Ours: one
  `claim_and_report` (records the previous result and claims, one lock,
  one append); Optuna: `study.ask()` plus the two `suggest_float` calls
  (`tell` is not counted).

    .venv/bin/python bench/bench_session.py                 # everything
    .venv/bin/python bench/bench_session.py --trials 1000 --workers 4 --algos rand

Each run uses a fresh temporary SLURM_SEARCH_HOME / journal file.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()


# -- workers (run in their own processes) ------------------------------------


def _wait_for_go(ready: Path, go: Path) -> None:
    ready.write_text("ready")
    while not go.exists():
        time.sleep(0.005)


def worker_ours(name: str, ready: Path, go: Path, out: Path) -> None:
    from slurm_search.session import _view, _worker

    # Warm up outside the measured window: import hyperopt, compile the space.
    v = _view.view(name)
    v.refresh()
    v.derived.space_and_domain(v.state)
    latencies: list[tuple[int, float]] = []
    real = _worker.claim_and_report

    def timed(*args, **kwargs):
        start = time.perf_counter()
        outcome = real(*args, **kwargs)
        if hasattr(outcome, "tid"):
            latencies.append((outcome.tid, time.perf_counter() - start))
        return outcome

    _worker.claim_and_report = timed
    _wait_for_go(ready, go)
    if os.environ.get("BENCH_PROFILE"):
        import cProfile

        profile = cProfile.Profile()
        report = profile.runcall(_worker.work_on, name)
        profile.dump_stats(f"{os.environ['BENCH_PROFILE']}.{os.getpid()}")
    else:
        report = _worker.work_on(name)
    out.write_text(json.dumps({"end": time.time(), "latencies": latencies, "completed": report.completed}))


def worker_public(name: str, ready: Path, go: Path, out: Path) -> None:
    """The public API's loop: `next_trial`, the objective, `record_result` (two locks a trial)."""
    from slurm_search import session
    from slurm_search.session import NoMoreTrials, _view, demo

    v = _view.view(name)
    v.refresh()
    v.derived.space_and_domain(v.state)
    worker = session.default_worker_id()
    latencies: list[tuple[int, float]] = []
    completed = 0
    _wait_for_go(ready, go)
    while True:
        start = time.perf_counter()
        try:
            trial = session.next_trial(name, worker)
        except NoMoreTrials as err:
            if err.reason != "busy":
                break
            time.sleep(0.005)
            continue
        latencies.append((trial.tid, time.perf_counter() - start))
        session.record_result(name, worker, trial.tid, demo.objective(trial.params, None), attempt=trial.attempt)
        completed += 1
    out.write_text(json.dumps({"end": time.time(), "latencies": latencies, "completed": completed}))


def worker_hyperopt(algo: str, n: int, ready: Path, go: Path, out: Path) -> None:
    """hyperopt's own fmin, in memory, in this process: the ceiling for one worker."""
    import numpy as np
    from hyperopt import Trials, fmin, rand, tpe

    from slurm_search.session import demo

    space = demo.space()
    suggest = tpe.suggest if algo == "tpe" else rand.suggest
    _wait_for_go(ready, go)
    fmin(lambda p: p["x"] ** 2 + p["y"] ** 2, space, algo=suggest, max_evals=n, trials=Trials(),
         rstate=np.random.default_rng(1), show_progressbar=False)
    out.write_text(json.dumps({"end": time.time(), "latencies": [], "completed": n}))


def worker_optuna(storage_path: str, study_name: str, n_trials: int, ready: Path, go: Path, out: Path) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=study_name, storage=_optuna_storage(storage_path),
                              sampler=_optuna_sampler(study_name))
    latencies: list[tuple[int, float]] = []
    completed = 0
    _wait_for_go(ready, go)
    while True:
        start = time.perf_counter()
        trial = study.ask()
        if trial.number >= n_trials:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            break
        x = trial.suggest_float("x", -2, 2)
        y = trial.suggest_float("y", -2, 2)
        latencies.append((trial.number, time.perf_counter() - start))
        study.tell(trial, x * x + y * y)
        completed += 1
    out.write_text(json.dumps({"end": time.time(), "latencies": latencies, "completed": completed}))


def _optuna_storage(path: str):
    import optuna

    journal = optuna.storages.journal
    backend = getattr(journal, "JournalFileBackend", None) or optuna.storages.JournalFileStorage
    return optuna.storages.JournalStorage(backend(path))


def _optuna_sampler(study_name: str):
    import optuna

    if study_name.startswith("tpe"):
        return optuna.samplers.TPESampler(seed=1)
    return optuna.samplers.RandomSampler(seed=1)


# -- the driver ----------------------------------------------------------------


def _run_workers(argv_of, workers: int, tmp: Path, env: dict[str, str], timeout: float) -> dict:
    go = tmp / "go"
    procs, outs, readies = [], [], []
    for i in range(workers):
        ready, out = tmp / f"ready{i}", tmp / f"out{i}.json"
        readies.append(ready)
        outs.append(out)
        procs.append(subprocess.Popen(argv_of(ready, go, out), env=env))
    deadline = time.time() + timeout
    while not all(r.exists() for r in readies):
        if any(p.poll() is not None for p in procs) or time.time() > deadline:
            for p in procs:
                p.kill()
            raise RuntimeError("a worker died before it was ready")
        time.sleep(0.01)
    start = time.time()
    go.write_text("go")
    for p in procs:
        if p.wait(timeout=timeout) != 0:
            raise RuntimeError(f"a worker exited with {p.returncode}")
    results = [json.loads(o.read_text()) for o in outs]
    end = max(r["end"] for r in results)
    latencies = sorted(lat for r in results for lat in r["latencies"])
    return {
        "seconds": end - start,
        "completed": sum(r["completed"] for r in results),
        "latencies": latencies,
    }


def _latency_ends(latencies: list[list[float]], n: int) -> tuple[float, float]:
    tenth = max(1, n // 10)
    first = [s for tid, s in latencies if tid < tenth]
    last = [s for tid, s in latencies if tid >= n - tenth]
    mean = lambda xs: sum(xs) / len(xs) if xs else float("nan")  # noqa: E731
    return mean(first), mean(last)


def run_ours(
    algo: str, n: int, workers: int, timeout: float, where: str | None = None, kind: str = "worker-ours"
) -> dict:
    with tempfile.TemporaryDirectory() as tmp_, tempfile.TemporaryDirectory(dir=where) as store:
        tmp = Path(tmp_)
        env = dict(os.environ, SLURM_SEARCH_HOME=str(Path(store) / "home"))
        code = (
            "from slurm_search import session; from slurm_search.session import demo; "
            f"print(session.create_session(demo.objective, demo.space(), algo={algo!r}, "
            f"max_evals={n}, seed=1, name='bench'))"
        )
        subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)
        out = _run_workers(
            lambda ready, go, o: [
                sys.executable, str(HERE), kind, "search:bench", str(ready), str(go), str(o)
            ],
            workers, tmp, env, timeout,
        )
    return out


def run_public(algo: str, n: int, workers: int, timeout: float, where: str | None = None) -> dict:
    return run_ours(algo, n, workers, timeout, where, kind="worker-public")


def run_hyperopt(algo: str, n: int, workers: int, timeout: float, where: str | None = None) -> dict:
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        return _run_workers(
            lambda ready, go, o: [sys.executable, str(HERE), "worker-hyperopt", algo, str(n), str(ready), str(go),
                                  str(o)],
            1, tmp, dict(os.environ), timeout,
        )


def run_optuna(algo: str, n: int, workers: int, timeout: float, where: str | None = None) -> dict:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp_, tempfile.TemporaryDirectory(dir=where) as store:
        tmp = Path(tmp_)
        path = str(Path(store) / "journal.log")
        study_name = f"{algo}-bench"
        optuna.create_study(study_name=study_name, storage=_optuna_storage(path))
        out = _run_workers(
            lambda ready, go, o: [sys.executable, str(HERE), "worker-optuna", path, study_name, str(n),
                                  str(ready), str(go), str(o)],
            workers, tmp, dict(os.environ), timeout,
        )
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--algos", nargs="+", default=["rand", "tpe"])
    parser.add_argument("--systems", nargs="+", default=["ours", "optuna"],
                        help="ours (the worker's hot path), public (next_trial + record_result), optuna, "
                             "hyperopt (fmin in memory, W=1 only)")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args(argv)
    print(f"{'system':8} {'algo':5} {'trials':>6} {'workers':>7} {'trials/s':>9} "
          f"{'claim first 10%':>16} {'claim last 10%':>15}", flush=True)
    rows = {}
    for n in args.trials:
        for algo in args.algos:
            for workers in args.workers:
                for system in args.systems:
                    if system == "hyperopt" and workers != 1:
                        continue
                    run = {"ours": run_ours, "public": run_public, "hyperopt": run_hyperopt}.get(system, run_optuna)
                    out = run(algo, n, workers, args.timeout)
                    first, last = _latency_ends(out["latencies"], n)
                    rate = out["completed"] / out["seconds"]
                    rows[(system, algo, n, workers)] = rate
                    print(f"{system:8} {algo:5} {n:6d} {workers:7d} {rate:9.1f} "
                          f"{first * 1000:13.2f} ms {last * 1000:12.2f} ms", flush=True)
    print()
    for n in args.trials:
        for algo in args.algos:
            for workers in args.workers:
                ours = rows.get(("ours", algo, n, workers))
                for other in ("optuna", "hyperopt", "public"):
                    theirs = rows.get((other, algo, n, workers))
                    if ours and theirs:
                        print(f"ratio ours/{other:8} {algo:5} {n:6d} trials {workers} workers: {ours / theirs:5.2f}x")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker-ours":
        worker_ours(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]), Path(sys.argv[5]))
    elif len(sys.argv) > 1 and sys.argv[1] == "worker-public":
        worker_public(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]), Path(sys.argv[5]))
    elif len(sys.argv) > 1 and sys.argv[1] == "worker-hyperopt":
        worker_hyperopt(sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]), Path(sys.argv[5]), Path(sys.argv[6]))
    elif len(sys.argv) > 1 and sys.argv[1] == "worker-optuna":
        worker_optuna(sys.argv[2], sys.argv[3], int(sys.argv[4]), Path(sys.argv[5]), Path(sys.argv[6]),
                      Path(sys.argv[7]))
    else:
        main()
