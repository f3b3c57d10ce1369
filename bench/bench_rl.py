"""Benchmark: slurm-search's overhead on a real RL workload.

    .venv/bin/python bench/bench_rl.py [--runs 20] [--frames 5000] [--workers 2] [--repeats 5]

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
overhead, (framework - direct) / direct, in wall time (the target: below 5%)
and in the CPU time of the processes each side started. The two sides run in
turns, each repeat; the median over the repeats is the number to quote (one
run on a shared machine can be 20% off either way). The store lives in a
fresh temporary folder, never in ~/hyperparameters.
"""

from __future__ import annotations

import argparse
import datetime
import math
import multiprocessing as mp
import os
import re
import resource
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


def direct_train(seed_frames: tuple[int, int]) -> tuple[float, float, float]:
    """One training of ``frames`` frames and its test on ALL alone: the mean
    test return, and when the call began and ended (``time.time()``)."""
    began = time.time()
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
    return float(np.mean(returns)), began, time.time()


def run_direct(seeds: list[int], frames: int, workers: int, logdir: Path) -> tuple[float, tuple[list[float], float, float]]:
    """Wall time, and (the means, seconds before the first training began, after the last ended)."""
    # Spawned processes import this module afresh: everything they need goes
    # through the arguments or the environment.
    os.environ["BENCH_LOGDIR"] = str(logdir)
    start, began = time.perf_counter(), time.time()
    with mp.get_context("spawn").Pool(workers) as pool:
        calls = pool.map(direct_train, [(seed, frames) for seed in seeds], chunksize=1)
    wall, ended = time.perf_counter() - start, time.time()
    return wall, ([c[0] for c in calls], min(c[1] for c in calls) - began, ended - max(c[2] for c in calls))


def run_framework(
    home: Path, runs: int, frames: int, workers: int, seed: int, agent: str = "classic:a2c"
) -> tuple[float, tuple[list[tuple[int, float]], float, float]]:
    """Wall time, and (the (seed, mean) results, seconds before the first
    trial was claimed, after the last one's result was recorded)."""
    script = Path(sys.executable).parent / "run_exp"
    command = [str(script)] if script.exists() else [sys.executable, "-c", "from slurm_search.dsl._cli import main; main()"]
    env = {**os.environ, "SLURM_SEARCH_HOME": str(home), "PYTHONPATH": f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    argv = [*command, "bench_rl:spec", f"--seed={seed}", f"--bench:runs={runs}", f"--bench:workers={workers}", f"--run:train_frames={frames}", f"--agent={agent}"]
    start, began = time.perf_counter(), time.time()
    out = subprocess.run(argv, env=env, capture_output=True, text=True)
    elapsed, ended = time.perf_counter() - start, time.time()
    if out.returncode:
        sys.exit(f"run_exp failed:\n{out.stderr[-3000:]}")
    name = re.search(r"^experiment: (exp:\S+)$", out.stdout, re.M).group(1)
    os.environ["SLURM_SEARCH_HOME"] = str(home)
    from slurm_search import session, state

    stored = state.read(name)
    results = [(int(s), float(m)) for s, m in stored["results"]["returns"]]
    docs = [doc for sub in stored["sessions"].values() for doc in session.trial_docs(sub)]
    first = min(doc["book_time"] for doc in docs).replace(tzinfo=datetime.timezone.utc).timestamp()
    last = max(doc["refresh_time"] for doc in docs).replace(tzinfo=datetime.timezone.utc).timestamp()
    return elapsed, (results, first - began, ended - last)


def _children_cpu() -> float:
    """User + system seconds of the waited-for child processes (and theirs) so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _measured(run):  # type: ignore[no-untyped-def]
    """(wall seconds, CPU seconds of the processes it started, what it returned)."""
    cpu = _children_cpu()
    wall, result = run()
    return wall, _children_cpu() - cpu, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--frames", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(
        f"{args.runs} CartPole A2C trainings of {args.frames} frames (+10 test episodes), "
        f"{args.workers} workers; cpus={os.cpu_count()}; {args.repeats} repeats, the two sides in turns"
    )
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_rl_") as tmp:
        for repeat in range(args.repeats):
            home = Path(tmp) / f"home{repeat}"
            seed = args.seed + repeat
            # The same run_exp with the debug agent first: it samples the same
            # run seeds (they depend on the experiment's seed, not on the
            # agent), which the direct side needs, and its wall time is what
            # the framework costs with no training at all (start-up,
            # sessions, workers, results).
            fixed, (noop, _, _) = run_framework(home, args.runs, 1, args.workers, seed, "debug")
            seeds = [s for s, _ in noop]

            def framework():  # type: ignore[no-untyped-def]
                return run_framework(Path(tmp) / f"run{repeat}", args.runs, args.frames, args.workers, seed)

            def direct():  # type: ignore[no-untyped-def]
                return run_direct(seeds, args.frames, args.workers, Path(tmp) / f"direct{repeat}")

            # In turns, so that a slow spell of the shared machine does not
            # always fall on the same side.
            if repeat % 2:
                d_wall, d_cpu, (means, d_start, d_tail) = _measured(direct)
                f_wall, f_cpu, (results, f_start, f_tail) = _measured(framework)
            else:
                f_wall, f_cpu, (results, f_start, f_tail) = _measured(framework)
                d_wall, d_cpu, (means, d_start, d_tail) = _measured(direct)
            direct_means = dict(zip(seeds, means))
            same = sorted(seeds) == sorted(s for s, _ in results) and all(
                abs(mean - direct_means[s]) < 1e-9 for s, mean in results
            )
            overhead = (f_wall - d_wall) / d_wall
            cpu_overhead = (f_cpu - d_cpu) / d_cpu
            load = os.getloadavg()[0]
            # Start-up (until the first training begins) and tail (after the
            # last ends) do not depend on how fast the machine trains today.
            edges = (f_start + f_tail) - (d_start + d_tail)
            rows.append((overhead, cpu_overhead, edges / d_wall))
            print(
                f"repeat {repeat}: run_exp {f_wall:5.1f} s ({f_cpu:5.1f} s CPU)   direct ALL {d_wall:5.1f} s "
                f"({d_cpu:5.1f} s CPU)   overhead {100 * overhead:+5.1f}% wall, {100 * cpu_overhead:+5.1f}% CPU   "
                f"start-up + tail {f_start:.2f} + {f_tail:.2f} s vs {d_start:.2f} + {d_tail:.2f} s "
                f"({100 * edges / d_wall:+.1f}%)   no-op run_exp {fixed:4.1f} s   same returns: {same}   "
                f"load avg {load:.1f}",
                flush=True,
            )
            if not same:
                print("  (returns differ: the two sides did not do the same work)")
    walls, cpus, edges = (sorted(row[i] for row in rows) for i in range(3))
    middle = len(rows) // 2
    print(
        f"overhead, median of {len(rows)}: {100 * walls[middle]:+.1f}% wall (target < 5%; range "
        f"{100 * walls[0]:+.1f}% to {100 * walls[-1]:+.1f}%), {100 * cpus[middle]:+.1f}% CPU; "
        f"start-up + tail {100 * edges[middle]:+.1f}% of the direct wall time"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
