"""The demo experiments: a noisy quadratic, no RL needed.

``spec`` (registered as ``demo``) has the shape of the research experiments:
tune ``(x, y)`` by maximising (or minimising, ``--tune:goal=min``; the goal is
``min`` or ``max``, or ``minimize``/``maximize``, nothing else) the mean of
a noisy quadratic over random noise seeds, then evaluate the best and the
worst setting found on fresh seeds.

``sweep`` (not registered: ``run_exp slurm_search.dsl.demo:sweep``)
enumerates ``x`` over a grid and averages over random seeds; it has no TPE,
so its results are the same whichever way it runs (inline, cpu, slurm).

With ``--steps=N`` the noisy quadratic "trains" in N steps (its delay spread
over them) and reports ``value - 1/step`` at each (``slurm_search.dsl.report``),
so ``--tune:pruner=asha`` (or ``median``) stops bad settings early.

Every call of the objective appends a line to the file named by
``$SSEARCH_DEMO_CALLS`` when it is set (tests count calls with it).
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

from hyperopt import hp

from . import settings
from ._errors import BadValue
from ._experiment import run_dir
from ._nodes import (
    accepts_param_names,
    enumeration_sampling,
    maximizing_sampling,
    minimizing_sampling,
    random_sampling,
    use,
)
from ._reports import report
from ._runtime import param
from ._settings import check_goal
from ._spec import Spec

__all__ = ["CALLS_VARIABLE", "quadratic", "noisy_quadratic", "spec", "sweep"]

CALLS_VARIABLE = settings.DEMO_CALLS.name
OPTIMUM = (0.5, -0.25)


def quadratic(x: float, y: float) -> float:
    """The noiseless objective, highest (0) at ``OPTIMUM``."""
    return -((x - OPTIMUM[0]) ** 2 + (y - OPTIMUM[1]) ** 2)


@accepts_param_names
def noisy_quadratic(xy: Any, seed: int, noise: float, delay: float = 0.0) -> float:
    """``quadratic(x, y)`` plus Gaussian noise drawn from ``seed``.

    ``xy`` is ``{"x": .., "y": ..}`` or a number (then ``y`` is 0).
    """
    x, y = (xy["x"], xy["y"]) if isinstance(xy, dict) else (float(xy), 0.0)
    value = quadratic(x, y) + float(noise) * random.Random(int(seed)).gauss(0.0, 1.0)
    steps = int(param("steps") or 0)
    for step in range(1, steps + 1):  # a learning curve rising to the value
        if delay:
            time.sleep(float(delay) / steps)
        report(value - 1.0 / step, step)
    if delay and not steps:
        time.sleep(float(delay))
    calls = settings.demo_calls()
    if calls:
        # One write per line with O_APPEND: lines of concurrent workers never mix.
        with open(calls, "a", encoding="utf-8") as out:
            out.write(f"{x!r} {y!r} {int(seed)} {value!r}\n")
    return value


def _evaluation(setting: Any) -> Any:
    return use("xy", setting)[
        random_sampling(
            "seed",
            noisy_quadratic("xy", "seed", "noise", "delay"),
            sample_count="eval:seeds",
            method="eval:method",
            threads="eval:threads",
        )
    ]


def _check_params() -> None:
    # Called when the run is checked, before anything is stored: a negative
    # delay or step count would fail (or silently do nothing) in every trial.
    steps, delay = param("steps"), param("delay")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise BadValue("--steps", steps, "a whole number >= 0 (0: no intermediate reports)")
    if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not 0 <= delay < float("inf"):
        raise BadValue("--delay", delay, "a finite number of seconds >= 0")


def demo_experiment() -> dict[str, Any]:
    """Tune (x, y) on the mean over seeds, then evaluate the best and worst settings on fresh seeds."""
    # Exactly min or max (or minimize, maximize): any other word is refused, never read as one of them.
    maximize = check_goal("--tune:goal", param("tune:goal")) == "maximize"
    seeds = random_sampling(
        "seed",
        noisy_quadratic("xy", "seed", "noise", "delay"),
        sample_count="tune:seeds",
        method="inline",
    )
    common = {
        "sample_count": "tune:settings", "method": "tune:method", "threads": "tune:threads",
        "pruner": "tune:pruner", "pruner_options": "tune:pruner_options",
    }
    if maximize:
        tuning = maximizing_sampling("xy", seeds, maximize_measure="mean", **common)
        best, worst = tuning["argmax:mean"], tuning["argmin:mean"]
    else:
        tuning = minimizing_sampling("xy", seeds, minimize_measure="mean", **common)
        best, worst = tuning["argmin:mean"], tuning["argmax:mean"]
    _check_params()
    best_eval, worst_eval = _evaluation(best), _evaluation(worst)
    return {
        "best_xy": best,
        "worst_xy": worst,
        "best_mean": best_eval["mean"],
        "best_std": best_eval["std"],
        "worst_mean": worst_eval["mean"],
        "worst_std": worst_eval["std"],
        "tuning_means": tuning["point_values:mean"],
        "tuning_mean_of_means": tuning["mean:mean"],
    }


def display_demo(session_name: str, params: dict, results: dict) -> Path:
    """Print the best and worst settings and write the tuning points to ``tuning.csv``."""
    folder = run_dir(session_name)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tuning.csv"
    with open(path, "w", encoding="utf-8") as out:
        out.write("x,y,mean_over_seeds\n")
        for setting, mean in results["tuning_means"]:
            out.write(f"{setting['x']!r},{setting['y']!r},{mean!r}\n")
    for label in ("best", "worst"):
        xy = results[f"{label}_xy"]
        print(
            f"{label:5s} x={xy['x']:+.3f} y={xy['y']:+.3f}: "
            f"{results[f'{label}_mean']:+.3f} ± {results[f'{label}_std']:.3f} on fresh seeds"
        )
    print(f"tuning points: {path}")
    return path


spec = Spec(
    config={
        "xy_space": {"x": hp.uniform("x", -2.0, 2.0), "y": hp.uniform("y", -2.0, 2.0)},
        "seed_space": hp.randint("seed", 2**31 - 1),
        "noise": 0.5,
        "delay": 0.0,
        "steps": 0,
        "tune": {
            "goal": "max", "settings": 10, "seeds": 3, "method": "inline", "threads": 2,
            # --tune:pruner=asha (or median) with --steps=N: stop bad settings early.
            "pruner": "none",
            "pruner_options": {"asha": {"min_resource": 1, "reduction_factor": 2}, "median": {"n_startup_trials": 3}},
        },
        "eval": {"seeds": 6, "method": "inline", "threads": 2},
        # Slurm options of the searches that run on Slurm (--slurm:partition=...).
        "slurm": {"partition": None, "time": None},
    },
    experiment_func=demo_experiment,
    debug_overrides={"tune": {"settings": 3, "seeds": 2}, "eval": {"seeds": 2}},
    display_func=display_demo,
    ref="demo",
)


def sweep_experiment() -> dict[str, Any]:
    """Enumerate x over a grid; for each, the mean and spread over random seeds."""
    grid = enumeration_sampling(
        "xy",
        random_sampling(
            "seed",
            noisy_quadratic("xy", "seed", "noise", "delay"),
            sample_count="sweep:seeds",
            method="sweep:inner_method",
            threads="sweep:threads",
        ),
        method="sweep:method",
        threads="sweep:threads",
    )
    return {
        "means": grid["point_values:mean"],
        "best_x": grid["argmax:mean"],
        "mean_of_means": grid["mean:mean"],
        "spread_of_means": grid["std:mean"],
        "cdf_of_means": grid["cdf:mean"],
    }


sweep = {
    "config": {
        "xy_space": [-1.0, 0.0, 0.5, 1.0],
        "seed_space": hp.randint("seed", 2**31 - 1),
        "noise": 0.5,
        "delay": 0.0,
        "sweep": {"seeds": 3, "method": "inline", "inner_method": "inline", "threads": 2},
    },
    "debug_overrides": {"sweep": {"seeds": 2}},
    "display_func": None,
    "experiment_func": sweep_experiment,
}
