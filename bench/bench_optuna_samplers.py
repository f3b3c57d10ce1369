"""Benchmark: Optuna's samplers as session algorithms, against hyperopt's and against Optuna itself.

On Branin (2-d, minimum 0.397887) and Hartmann-6 (6-d, minimum -3.32237),
at equal budgets (`--trials` trials, `--workers` local worker processes,
`--seeds` seeds), the best value found:

- through our sessions (`ssearch`'s cpu launcher: W `ssearch work_on`
  processes): hyperopt's `rand` and `tpe`, and `optuna:TPESampler`,
  `optuna:GPSampler`, `optuna:CmaEsSampler` (when cmaes is installed);
- by the same Optuna sampler in Optuna itself: W processes running
  `study.optimize` on one `JournalStorage(JournalFileBackend(path))`
  (each process's sampler seeded `seed + i`, as Optuna's docs advise).

Trials/s is counted from the start of the worker processes to the last one's
end (so both sides pay their processes' start-up).

    .venv/bin/python bench/bench_optuna_samplers.py            # about 30 minutes on 2 cores (GP dominates)
    .venv/bin/python bench/bench_optuna_samplers.py --functions branin --seeds 2 --algos rand,optuna:TPESampler
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Hartmann-6's constants (Surjanovic & Bingham's library of test functions).
_ALPHA = [1.0, 1.2, 3.0, 3.2]
_A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
_P = [
    [1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
    [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381],
]


def branin(params, context=None):
    """Branin's function; x in [-5, 10], y in [0, 15]; minimum 0.397887."""
    x, y = params["x"], params["y"]
    b, c = 5.1 / (4 * math.pi**2), 5 / math.pi
    return (y - b * x**2 + c * x - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x) + 10


def hartmann6(params, context=None):
    """Hartmann's 6-d function on [0, 1]^6; minimum -3.32237."""
    x = [params[f"x{i}"] for i in range(6)]
    return -sum(
        _ALPHA[i] * math.exp(-sum(_A[i][j] * (x[j] - _P[i][j] * 1e-4) ** 2 for j in range(6))) for i in range(4)
    )


BOUNDS = {"branin": {"x": (-5.0, 10.0), "y": (0.0, 15.0)}, "hartmann6": {f"x{i}": (0.0, 1.0) for i in range(6)}}
OPTIMUM = {"branin": 0.397887, "hartmann6": -3.32237}


def _space(function: str):
    from hyperopt import hp

    return {label: hp.uniform(label, low, high) for label, (low, high) in BOUNDS[function].items()}


def ours(function: str, algo: str, trials: int, workers: int, seed: int) -> tuple[float, float]:
    """(best value, trials/s) of a session run by `workers` local worker processes."""
    from slurm_search import session
    from slurm_search.session import workers as launcher

    name = session.create_session(
        f"bench_optuna_samplers:{function}", _space(function), algo=algo, max_evals=trials, seed=seed,
    )
    start = time.perf_counter()
    launcher.launch(name, method="cpu", workers=workers)
    elapsed = time.perf_counter() - start
    p = session.progress(name)
    assert p.completed == trials, p
    return session.best(name).loss, trials / elapsed


NATIVE = """
import sys, optuna
sys.path.insert(0, {here!r})
import bench_optuna_samplers as b
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
optuna.logging.set_verbosity(optuna.logging.ERROR)
storage = JournalStorage(JournalFileBackend({path!r}))
sampler = getattr(optuna.samplers, {sampler!r})(seed={seed})
study = optuna.load_study(study_name="bench", storage=storage, sampler=sampler)
bounds = b.BOUNDS[{function!r}]
fn = getattr(b, {function!r})
study.optimize(lambda t: fn({{k: t.suggest_float(k, lo, hi) for k, (lo, hi) in bounds.items()}}),
               callbacks=[optuna.study.MaxTrialsCallback({trials}, states=None)])
"""


def native(function: str, sampler: str, trials: int, workers: int, seed: int) -> tuple[float, float]:
    """(best value, trials/s) of Optuna's sampler on a journal file, `workers` processes."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "journal.log")
        storage = JournalStorage(JournalFileBackend(path))
        optuna.create_study(study_name="bench", storage=storage)
        start = time.perf_counter()
        procs = [
            subprocess.Popen([sys.executable, "-c", NATIVE.format(
                here=str(HERE), path=path, sampler=sampler, seed=seed * 1000 + i, function=function, trials=trials,
            )])
            for i in range(workers)
        ]
        for proc in procs:
            assert proc.wait() == 0
        elapsed = time.perf_counter() - start
        study = optuna.load_study(study_name="bench", storage=JournalStorage(JournalFileBackend(path)))
        done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        return min(t.value for t in done), len(done) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--functions", default="branin,hartmann6")
    parser.add_argument("--algos", default="rand,tpe,optuna:TPESampler,optuna:GPSampler,optuna:CmaEsSampler")
    args = parser.parse_args()
    # Our worker processes import the objectives from here.
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE), os.environ.get("PYTHONPATH", "")) if p)
    sys.path.insert(0, str(HERE))
    with tempfile.TemporaryDirectory() as home:
        os.environ["SLURM_SEARCH_HOME"] = home
        header = f"{'function':10} {'system':7} {'algo':20} {'best (mean ± sd over seeds)':>30}"
        print(f"{header} {'gap':>8} {'trials/s':>9}")
        for function in args.functions.split(","):
            for algo in args.algos.split(","):
                runs = [("ours", algo)]
                if algo.startswith("optuna:"):
                    try:
                        __import__({"optuna:CmaEsSampler": "cmaes"}.get(algo, "optuna"))
                    except ImportError as err:
                        print(f"{function:10} {'-':7} {algo:20} skipped: {err}")
                        continue
                    runs.append(("optuna", algo.split(":", 1)[1]))
                for system, what in runs:
                    results = [
                        (ours if system == "ours" else native)(function, what, args.trials, args.workers, seed)
                        for seed in range(1, args.seeds + 1)
                    ]
                    best = [r[0] for r in results]
                    rate = statistics.mean(r[1] for r in results)
                    sd = statistics.stdev(best) if len(best) > 1 else 0.0
                    gap = statistics.mean(best) - OPTIMUM[function]
                    print(f"{function:10} {system:7} {what:20} {statistics.mean(best):>20.4f} ± {sd:<7.4f} "
                          f"{gap:>8.4f} {rate:>9.1f}", flush=True)


if __name__ == "__main__":
    main()
