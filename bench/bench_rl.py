"""Benchmark: slurm-search's overhead on a real RL workload.

    .venv/bin/python bench/bench_rl.py [--runs 20] [--frames 5000] [--workers 2] [--repeats 1]

Runs the same N CartPole A2C trainings (``--frames`` frames each, 10 test
episodes, the same seeds) two ways and compares the wall times:

  * framework: ``run_exp bench_rl:spec`` — a ``random_sampling`` over
    ``run_seed`` of ``return_mean`` with ``--workers`` local worker processes
    (``method=cpu``), so every trial goes through a search session in the
    store (claims, leases, results) and the DSL (experiment rebuilt in each
    worker);
  * direct: the same trainings called directly on ALL (preset builder +
    ``ParallelEnvExperiment``, seeded the same way) in ``--workers`` plain
    processes (a spawn ``multiprocessing.Pool``).

Both pay for starting processes and importing torch. The script checks that
both give the same returns (so they did the same work) and prints the
overhead, (framework - direct) / direct; the target is below 5%. The store
lives in a fresh temporary folder, never in ~/hyperparameters.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUN = {"train_frames": 5000, "test_episodes": 10, "device": "cpu"}


# --- the framework side: an experiment spec (run_exp bench_rl:spec) ----------


def _experiment():
    from slurm_search.dsl import random_sampling
    from slurm_search.rl import return_mean

    runs = random_sampling(
        "run_seed",
        return_mean("env", "agent", "hp", "run_params", "run_seed"),
        sample_count="bench:runs",
        method="bench:method",
        threads="bench:workers",
    )
    return {"returns": runs["point_values"]}


def _spec():
    from hyperopt import hp

    return {
        "config": {
            "agent": "classic:a2c",
            "env": "classic:CartPole-v1",
            "hp": {"n_envs": 4},
            "run": dict(RUN),
            "run_seed_space": hp.randint("run_seed", 2**31 - 1),
            "bench": {"runs": 20, "method": "cpu", "workers": 2},
        },
        "experiment_func": _experiment,
        "debug_overrides": {},
        "display_func": None,
    }


def __getattr__(name: str):
    # Built on first use, so the direct side's processes never import hyperopt.
    if name == "spec":
        return _spec()
    raise AttributeError(name)


# --- the direct side: ALL only, same seeding as slurm_search.rl ---------------


def direct_train(seed_frames: tuple[int, int]) -> float:
    """One training of ``frames`` frames and its test on ALL alone; the mean test return."""
    import random

    import numpy as np
    import torch
    from all.environments import DuplicateEnvironment, GymEnvironment
    from all.experiments import ParallelEnvExperiment
    from all.presets import classic_control

    seed, frames = seed_frames
    seed %= 2**32
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    env = GymEnvironment("CartPole-v1", device="cpu")
    preset = classic_control.a2c.env(env).device("cpu").hyperparameters(n_envs=4).build()
    copies = [GymEnvironment("CartPole-v1", device="cpu") for _ in range(preset.n_envs)]
    for index, copy in enumerate(copies):
        copy.env.unwrapped.reset(seed=seed + index)
        copy.env.action_space.seed(seed + index)
    logdir = os.environ["BENCH_LOGDIR"]
    experiment = ParallelEnvExperiment(
        preset, DuplicateEnvironment(copies), logdir=logdir, quiet=True, verbose=False, save_freq=math.inf
    )
    experiment.train(frames=frames)
    returns = experiment.test(episodes=RUN["test_episodes"])[: RUN["test_episodes"]]
    experiment.close()
    return float(np.mean(returns))


def run_direct(seeds: list[int], frames: int, workers: int, logdir: Path) -> tuple[float, list[float]]:
    # Spawned processes import this module afresh: everything they need goes
    # through the arguments or the environment.
    os.environ["BENCH_LOGDIR"] = str(logdir)
    start = time.perf_counter()
    with mp.get_context("spawn").Pool(workers) as pool:
        means = pool.map(direct_train, [(seed, frames) for seed in seeds], chunksize=1)
    return time.perf_counter() - start, means


def run_framework(
    home: Path, runs: int, frames: int, workers: int, seed: int, agent: str = "classic:a2c"
) -> tuple[float, list[tuple[int, float]]]:
    script = Path(sys.executable).parent / "run_exp"
    command = [str(script)] if script.exists() else [sys.executable, "-c", "from slurm_search.dsl._cli import main; main()"]
    env = {**os.environ, "SLURM_SEARCH_HOME": str(home), "PYTHONPATH": f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    argv = [*command, "bench_rl:spec", f"--seed={seed}", f"--bench:runs={runs}", f"--bench:workers={workers}", f"--run:train_frames={frames}", f"--agent={agent}"]
    start = time.perf_counter()
    out = subprocess.run(argv, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if out.returncode:
        sys.exit(f"run_exp failed:\n{out.stderr[-3000:]}")
    name = re.search(r"^experiment: (exp:\S+)$", out.stdout, re.M).group(1)
    os.environ["SLURM_SEARCH_HOME"] = str(home)
    from slurm_search import state

    results = state.read(name)["results"]["returns"]
    return elapsed, [(int(s), float(m)) for s, m in results]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--frames", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"{args.runs} CartPole A2C trainings of {args.frames} frames (+10 test episodes), {args.workers} workers; cpus={os.cpu_count()}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_rl_") as tmp:
        for repeat in range(args.repeats):
            home = Path(tmp) / f"home{repeat}"
            framework, results = run_framework(home, args.runs, args.frames, args.workers, args.seed + repeat)
            seeds = [seed for seed, _ in results]
            direct, means = run_direct(seeds, args.frames, args.workers, Path(tmp) / f"direct{repeat}")
            same = all(abs(a - b) < 1e-9 for (_, a), b in zip(results, means))
            overhead = (framework - direct) / direct
            # The same run_exp with the debug agent: what the framework costs
            # with no training at all (startup, sessions, workers, results).
            fixed, _ = run_framework(Path(tmp) / f"debug{repeat}", args.runs, 1, args.workers, args.seed + repeat, "debug")
            load = os.getloadavg()[0]
            rows.append((framework, direct, overhead))
            print(
                f"repeat {repeat}: run_exp {framework:6.1f} s   direct ALL {direct:6.1f} s   "
                f"overhead {100 * overhead:+5.1f}%   run_exp with a no-op debug agent {fixed:5.1f} s   "
                f"same returns: {same}   load avg {load:.1f}",
                flush=True,
            )
            if not same:
                print("  (returns differ: the two sides did not do the same work)")
    overheads = sorted(row[2] for row in rows)
    median = overheads[len(overheads) // 2]
    print(f"overhead, median of {len(rows)}: {100 * median:+.1f}% (target < 5%); the machine's other load makes single runs noisy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
