"""Pruning: our median and ASHA pruners against Optuna's on synthetic learning
curves, and what ASHA saves on real RL (hp_tuning_effects, A2C on CartPole).

    .venv/bin/python bench/bench_pruning.py synthetic        # a minute; needs optuna
    .venv/bin/python bench/bench_pruning.py rl --repeats 5   # about 15 minutes on 2 cores

synthetic: N curves (trial i: final value f_i ~ U(0, 1), plus c_i exp(-t / tau_i)
and Gaussian noise, steps 1..T, all drawn from seeds), the same curves in the
same order for every system. Optuna 5.0 (MedianPruner, SuccessiveHalvingPruner,
ask/tell, one trial after the other) against ours (an enumeration session over
i, inline; and 4 local worker processes, where ASHA is asynchronous): the
fraction of trials pruned and of steps run.

rl: run_exp hp_tuning_effects with and without --search:pruner=asha, the same
run seed for both in each repeat: frames trained by the search (an ok seed run
trains train_frames; a pruned one its last reported step), and the best
setting's mean return on fresh seeds.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


# -- synthetic curves ----------------------------------------------------------


def curve_value(i: int, t: int, seed: int = 0) -> float:
    rng = random.Random(f"{seed}:{i}")
    final, scale, tau = rng.uniform(0, 1), rng.uniform(0.5, 2.0), rng.uniform(5, 30)
    noise = random.Random(f"{seed}:{i}:{t}").gauss(0, 0.05)
    return final + scale * math.exp(-t / tau) + noise


def curve_objective(params, context):
    """A session objective reporting curve ``params["i"]`` step by step."""
    from slurm_search import session

    i, steps, seed = params["i"], context["steps"], context["seed"]
    for t in range(1, steps + 1):
        session.report(curve_value(i, t, seed), t)
    return curve_value(i, steps, seed)


OPTIONS = {
    "median": {"n_startup_trials": 5, "n_warmup_steps": 10, "interval_steps": 1},
    "asha": {"min_resource": 1, "reduction_factor": 3},
}


def optuna_run(kind: str, n: int, steps: int, seed: int) -> tuple[float, float]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    opts = OPTIONS[kind]
    pruner = (
        optuna.pruners.MedianPruner(**opts)
        if kind == "median"
        else optuna.pruners.SuccessiveHalvingPruner(min_resource=opts["min_resource"], reduction_factor=opts["reduction_factor"])
    )
    study = optuna.create_study(direction="minimize", pruner=pruner)
    pruned = run_steps = 0
    for i in range(n):
        trial = study.ask()
        for t in range(1, steps + 1):
            trial.report(curve_value(i, t, seed), t)
            run_steps += 1
            if trial.should_prune():
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                pruned += 1
                break
        else:
            study.tell(trial, curve_value(i, steps, seed))
    return pruned / n, run_steps / (n * steps)


def ours_run(kind: str, n: int, steps: int, seed: int, workers: int) -> tuple[float, float]:
    from hyperopt import hp

    from slurm_search import session
    from slurm_search.session import workers as launchers

    name = session.create_session(
        "bench_pruning:curve_objective", {"i": hp.choice("i", list(range(n)))}, algo="enumeration",
        context={"steps": steps, "seed": seed}, pruner=kind, pruner_options=OPTIONS[kind],
    )
    if workers == 1:
        session.work_on(name)
    else:
        launchers.launch(name, method="cpu", workers=workers)
    progress = session.progress(name)
    reports = session.trial_reports(name)
    run_steps = sum(max(v) if v else 0 for v in reports.values())
    return progress.pruned / n, run_steps / (n * steps)


def synthetic(args) -> None:
    try:
        import optuna  # noqa: F401
    except ImportError:
        print("synthetic: skipped, optuna is not installed (pip install optuna into the bench environment)")
        return
    sys.path.insert(0, str(HERE))
    os.environ["PYTHONPATH"] = os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])
    import tempfile

    os.environ.setdefault("SLURM_SEARCH_HOME", tempfile.mkdtemp(prefix="bench_pruning_"))
    print(f"{'pruner':7s} {'seed':>4s} {'system':16s} {'pruned':>7s} {'steps run':>9s}")
    rows = []
    for kind in ("median", "asha"):
        for seed in range(args.seeds):
            for system, run in (
                ("optuna", lambda: optuna_run(kind, args.trials, args.steps, seed)),
                ("ours inline", lambda: ours_run(kind, args.trials, args.steps, seed, 1)),
                (f"ours {args.workers} workers", lambda: ours_run(kind, args.trials, args.steps, seed, args.workers)),
            ):
                frac, steps = run()
                rows.append((kind, seed, system, frac, steps))
                print(f"{kind:7s} {seed:4d} {system:16s} {frac:7.1%} {steps:9.1%}", flush=True)
    print("\nmean over seeds:")
    for kind in ("median", "asha"):
        for system in sorted({r[2] for r in rows}):
            fr = [r[3] for r in rows if r[0] == kind and r[2] == system]
            st = [r[4] for r in rows if r[0] == kind and r[2] == system]
            print(f"{kind:7s} {system:16s} pruned {statistics.fmean(fr):6.1%}  steps run {statistics.fmean(st):6.1%}")


# -- RL -----------------------------------------------------------------------


def rl_overrides(args) -> dict:
    return {
        "search:method": "cpu", "search:threads": args.workers, "search:settings": args.settings,
        "search:runs_per_setting": args.runs, "eval:runs": args.eval_runs,
        "run:train_frames": args.frames, "run:report_every": args.report_every,
        "run:test_episodes": args.test_episodes, "run:device": "cpu",
        "search:pruner_options:asha:min_resource": args.min_resource,
        "search:pruner_options:asha:reduction_factor": args.eta,
        "search:pruner_options:asha:max_resource": args.frames,
    }


def search_frames(run_name: str, frames: int) -> tuple[int, int, int]:
    """(frames trained by the tuning's seed runs, settings ok, settings pruned)."""
    from slurm_search import session, state

    sessions = {tuple(path): name for path, name in state.read(run_name)["sessions"].items()}
    (tuning_path, tuning) = next((p, n) for p, n in sessions.items() if session.info(n).metadata.get("var") == "hp")
    total = 0
    for path, name in sessions.items():
        if len(path) != len(tuning_path) + 1 or path[:-1] != tuning_path:
            continue  # not one setting's seeds (the evaluations on fresh seeds, the tuning itself)
        reports = session.trial_reports(name)
        for doc in session.trial_docs(name):
            if doc["result"].get("pruned"):
                total += max(reports.get(doc["tid"]) or {0: 0})
            elif doc["result"].get("status") == "ok":
                total += frames
    progress = session.progress(tuning)
    return total, progress.completed, progress.pruned


def rl(args) -> None:
    import tempfile

    os.environ.setdefault("SLURM_SEARCH_HOME", tempfile.mkdtemp(prefix="bench_pruning_rl_"))
    from slurm_search.dsl import run_experiment

    print(f"A2C on CartPole: {args.settings} settings x {args.runs} seeds x {args.frames} frames, "
          f"eval {args.eval_runs} fresh seeds, {args.workers} workers; ASHA min_resource={args.min_resource} "
          f"eta={args.eta} max_resource={args.frames}, report_every={args.report_every}")
    print(f"{'repeat':>6s} {'pruner':7s} {'search frames':>13s} {'ok':>3s} {'pruned':>6s} {'best fresh':>10s} {'seconds':>7s}")
    rows = []
    for repeat in range(args.repeats):
        for pruner in ("none", "asha"):
            start = time.time()
            result = run_experiment("hp_tuning_effects", {**rl_overrides(args), "search:pruner": pruner}, seed=1000 + repeat)
            took = time.time() - start
            frames, ok, pruned = search_frames(result.name, args.frames)
            best = result.results["best_mean"]
            rows.append((repeat, pruner, frames, best, took))
            print(f"{repeat:6d} {pruner:7s} {frames:13d} {ok:3d} {pruned:6d} {best:10.1f} {took:7.0f}", flush=True)
    full = [r for r in rows if r[1] == "none"]
    asha = [r for r in rows if r[1] == "asha"]
    ratio = sum(r[2] for r in asha) / sum(r[2] for r in full)
    print(f"\nframes with ASHA / without: {ratio:.1%}")
    for label, group in (("without", full), ("with ASHA", asha)):
        values = [r[3] for r in group]
        print(f"best setting's fresh-seed mean return {label}: {statistics.fmean(values):.1f} "
              f"(std over repeats {statistics.pstdev(values):.1f}; {[round(v, 1) for v in values]})")
    diffs = [a[3] - f[3] for a, f in zip(asha, full)]
    print(f"paired difference (ASHA - full): mean {statistics.fmean(diffs):+.1f}, std {statistics.pstdev(diffs):.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what")  # neither: both, with their defaults (run_all.py)
    syn = sub.add_parser("synthetic")
    syn.add_argument("--trials", type=int, default=100)
    syn.add_argument("--steps", type=int, default=60)
    syn.add_argument("--seeds", type=int, default=3)
    syn.add_argument("--workers", type=int, default=4)
    rlp = sub.add_parser("rl")
    rlp.add_argument("--repeats", type=int, default=5)
    rlp.add_argument("--settings", type=int, default=16)
    rlp.add_argument("--runs", type=int, default=2)
    rlp.add_argument("--eval-runs", type=int, default=3)
    rlp.add_argument("--frames", type=int, default=4000)
    rlp.add_argument("--report-every", type=int, default=500)
    rlp.add_argument("--min-resource", type=int, default=1000)
    rlp.add_argument("--eta", type=int, default=3)
    rlp.add_argument("--test-episodes", type=int, default=10)
    rlp.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if args.what is None:
        synthetic(parser.parse_args(["synthetic"]))
        rl(parser.parse_args(["rl"]))
    elif args.what == "synthetic":
        synthetic(args)
    else:
        rl(args)


if __name__ == "__main__":
    main()
