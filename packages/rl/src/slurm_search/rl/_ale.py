"""The ``ale`` session type: tune an ALL agent's hyperparameters with a plain
search session, ``ssearch start ale agent=classic:a2c env=classic:CartPole-v1``.

Registered in the entry-point group ``slurm_search.session_types``; the
session package calls ``ale(params)`` for the ``create_session`` arguments,
and the workers call ``ale_objective(params, context)`` per trial.
"""

from __future__ import annotations

import hashlib
import math
import numbers
from collections.abc import Mapping
from typing import Any

from ._errors import UnknownHyperparameter
from ._legacy import modern_hyperparameters
from ._names import (
    AgentName,
    parse_agent,
    parse_env,
    parse_run_params,
    preset_hyperparameter_defaults,
    preset_hyperparameter_names,
)
from ._run import check_logdir, run_results

__all__ = ["DEFAULT_RANGES", "ale", "ale_objective", "ale_space"]

OBJECTIVE = "slurm_search.rl:ale_objective"
# Search ranges used when the user gives no space: those the preset takes.
DEFAULT_RANGES: dict[str, tuple[float, float]] = {
    "lr": (1e-4, 1e-2),
    "lr_v": (1e-4, 1e-2),
    "lr_pi": (1e-5, 1e-3),
    "lr_q": (1e-4, 1e-2),
    "entropy_loss_scaling": (0.0, 0.1),
}
RUN_KEYS = (
    "train_frames", "train_episodes", "test_episodes", "device", "delay", "threads", "report_every",
    "checkpoint_every", "checkpoint_replay_buffer",
)
KEYS = ("agent", "env", "hp", "space", "run_seed", "runs_per_setting") + RUN_KEYS
DEFAULT_RUN = {"train_frames": 5000, "test_episodes": 10}


def ale_space(ranges: Mapping[str, Any]) -> dict[str, Any]:
    """A hyperopt space from ``name -> [low, high]``: log-uniform when
    ``0 < low`` and ``high / low >= 100`` (learning rates), integer when both
    bounds are integers, else uniform.

    Raises:
        ValueError: a range that is not two increasing numbers.
    """
    from hyperopt import hp

    space = {}
    for name, bounds in ranges.items():
        try:
            low, high = bounds
            ok = float(low) < float(high)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"space:{name}={bounds!r} must be [low, high] with low < high")
        if isinstance(low, int) and isinstance(high, int) and not isinstance(low, bool):
            space[name] = hp.quniform(name, low, high, 1)
        elif low > 0 and high / low >= 100:
            space[name] = hp.loguniform(name, math.log(low), math.log(high))
        else:
            space[name] = hp.uniform(name, float(low), float(high))
    return space


def ale(params: dict) -> dict[str, Any]:
    """Session arguments to tune ``agent`` on ``env``, maximising the mean test return.

    Parameters (``ssearch start ale KEY=VALUE…``):
        agent: ``classic:a2c``, ``atari:dqn``, ``debug``, … (required).
        env: default ``classic:CartPole-v1``.
        space: ``name -> [low, high]`` (``space:lr=[1e-4,1e-2]``); default:
            those of ``DEFAULT_RANGES`` that the preset takes.
        hp: fixed hyperparameters (``hp:n_envs=8``).
        train_frames (default 5000), train_episodes, test_episodes (default
            10), device, delay, threads, report_every (with ``pruner=asha``),
            checkpoint_every, checkpoint_replay_buffer: the run parameters
            of each trial.
        run_seed: base of the trials' seeds (default 0); a trial's seed is
            derived from it and its hyperparameters.
        runs_per_setting: trainings per trial, each on its own seed (default
            1); the trial's loss is minus the mean test return over all of
            them (the original's ``ale`` sessions ran 16).

    Raises:
        ValueError, KeyError: one line naming the bad parameter and the valid ones.
    """
    params = dict(params)
    unknown = sorted(set(params) - set(KEYS))
    if unknown:
        raise ValueError(f"ale takes no parameter {', '.join(unknown)}: use some of {', '.join(KEYS)}")
    if "agent" not in params:
        raise ValueError("ale needs agent=… (e.g. agent=classic:a2c, or agent=debug)")
    agent = parse_agent(params["agent"])
    env = parse_env(params.get("env", "classic:CartPole-v1"), installed_only=agent.is_debug)
    run = {**DEFAULT_RUN, **{key: params[key] for key in RUN_KEYS if key in params}}
    checked = parse_run_params(run)  # refuse a bad value now, not on a worker an hour later
    if not agent.is_debug:
        check_logdir(checked)
    fixed = params.get("hp") or {}
    if not isinstance(fixed, Mapping):
        raise ValueError(f"hp={fixed!r} is not valid: set fixed hyperparameters as hp:NAME=VALUE")
    fixed = dict(fixed)
    ranges = params.get("space")
    if agent.is_debug:
        # A debug agent takes anything; by default it is tuned like A2C.
        takes = tuple(sorted({"lr", "entropy_loss_scaling"} | set(fixed) | set(ranges or {})))
    else:
        takes = preset_hyperparameter_names(agent)
    if ranges is None:
        # A hyperparameter fixed with hp:NAME=VALUE is not searched as well
        # (the search's value would silently replace it).
        ranges = {name: bounds for name, bounds in DEFAULT_RANGES.items() if name in takes and name not in fixed}
    if not isinstance(ranges, Mapping) or not ranges:
        raise ValueError("space must name at least one hyperparameter: space:NAME=[low,high]")
    # ALL 0.6's names (vsarsa's epsilon) are accepted: run_results maps them.
    named = modern_hyperparameters(str(agent), dict.fromkeys(set(ranges) | set(fixed)), takes)
    bad = sorted(set(named) - set(takes))
    if bad:
        raise UnknownHyperparameter(str(agent), bad, list(takes))
    both = sorted(set(ranges) & set(fixed))
    if both:
        raise ValueError(
            f"{', '.join(both)} is both fixed (hp:{both[0]}=...) and searched (space:{both[0]}=...): "
            "give one of the two"
        )
    _check_fixed(agent, fixed)
    seed = params.get("run_seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"run_seed={seed!r} is not valid: expected an integer >= 0")
    runs = params.get("runs_per_setting", 1)
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
        raise ValueError(f"runs_per_setting={runs!r} is not valid: expected an integer >= 1")
    return {
        "objective": OBJECTIVE,
        "space": ale_space(ranges),
        "context": {
            "agent": str(agent),
            "env": str(env),
            "hp": fixed,
            "run_params": run,
            "run_seed": seed,
            "runs_per_setting": runs,
        },
        "algo": "tpe",
        "max_evals": 20,
        "metadata": {"agent": str(agent), "env": str(env), "run_params": run},
        # The loss is minus the mean return: listings show the return, highest best.
        "goal": "max",
    }


def _check_fixed(agent: AgentName, fixed: Mapping[str, Any]) -> None:
    """Refuse fixed hyperparameters of the wrong kind for the preset.

    A hyperparameter whose preset default is a number must be a finite
    number, one whose default is true/false must be true or false (for a
    debug agent, the names of ``DEFAULT_RANGES`` are numbers). Others (model
    constructors) are left to the preset.

    Raises:
        ValueError: naming the hyperparameter, its value and the kind expected.
    """
    if agent.is_debug:
        defaults: Mapping[str, Any] = {name: bounds[0] for name, bounds in DEFAULT_RANGES.items()}
    else:
        defaults = preset_hyperparameter_defaults(agent)
    for name, value in fixed.items():
        default = defaults.get(name)
        told = "" if agent.is_debug else f" (the preset's default is {default!r})"
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise ValueError(f"hp:{name}={value!r} is not valid: expected true or false{told}")
        elif isinstance(default, numbers.Real):
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
                raise ValueError(f"hp:{name}={value!r} is not valid: expected a finite number{told}")


def trial_seed(base: int, params: Mapping[str, Any]) -> int:
    """A trial's seed: fixed by the base seed and the trial's
    hyperparameters, so a retried trial reruns identically and TPE cannot
    learn seeds."""
    text = repr((base, sorted((str(k), repr(v)) for k, v in params.items())))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


def ale_objective(params: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
    """Train and test one setting ``runs_per_setting`` times (seeds ``s``,
    ``s + 1``, …); the loss is minus the mean test return over all runs.

    Returns:
        ``loss``, the first run's ``return_mean``/``return_var``/``returns_cdf``,
        and over the runs: ``run_return_means``, ``run_return_stds``,
        ``returns_mean``, ``returns_std`` (of every test episode).
    """
    seed = trial_seed(context.get("run_seed", 0), params)
    runs = [
        run_results(
            context["env"],
            context["agent"],
            {**context.get("hp", {}), **params},
            context["run_params"],
            seed + index,
        )
        for index in range(int(context.get("runs_per_setting", 1)))
    ]
    returns = [value for run in runs for value in run["returns_cdf"]]
    mean = sum(returns) / len(returns)
    return {
        "loss": -mean,
        **runs[0],
        "run_return_means": [run["return_mean"] for run in runs],
        "run_return_stds": [math.sqrt(run["return_var"]) for run in runs],
        "returns_mean": mean,
        "returns_std": math.sqrt(sum((value - mean) ** 2 for value in returns) / len(returns)),
    }
