"""The DSL nodes of the RL experiments: ``return_mean``, ``return_var`` and
``return_cdf`` of one training run, and the small analysis nodes the
experiments share.

Each is an ``@accepts_param_names`` function: ``return_mean("env", "agent",
"hp", "run_params", "run_seed")`` builds a node; at evaluation each string
that names an experiment parameter is replaced by its value (``run_params``
falls back to the parameter ``run``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from slurm_search.dsl import accepts_param_names, current_run, run_dir

from ._bootstrap import noise_ratio
from ._run import run_results

__all__ = ["normalized_scores", "return_cdf", "return_mean", "return_var", "run_noise_ratio", "experiment_run_params"]

logger = logging.getLogger(__name__)


def experiment_run_params(run_params: Mapping[str, Any] | None) -> dict[str, Any]:
    """``run_params`` with ``logdir`` set to the experiment's folder
    (``<home>/exp/<name>/tensorboard``) when an experiment is being
    evaluated and no logdir was given."""
    params = dict(run_params or {})
    if not params.get("logdir"):
        # The run being evaluated, in run_exp and in its workers alike.
        run = current_run()
        if run is not None:
            params["logdir"] = str(run_dir(run.name) / "tensorboard")
    return params


def _results(env: Any, agent: Any, hp: Any, run_params: Any, run_seed: Any) -> dict[str, Any]:
    if isinstance(hp, str):
        # The string came back unresolved: no parameter of that name.
        raise ValueError(f"hp={hp!r} names no parameter: sample it (random_sampling('hp', …)) or set --hp")
    return run_results(env, agent, hp, experiment_run_params(run_params), run_seed)


@accepts_param_names
def return_mean(env: Any, agent: Any, hp: Any, run_params: Any, run_seed: Any) -> float:
    """The mean test return of one training run (see ``run_results``)."""
    return _results(env, agent, hp, run_params, run_seed)["return_mean"]


@accepts_param_names
def return_var(env: Any, agent: Any, hp: Any, run_params: Any, run_seed: Any) -> float:
    """The variance of the test returns of one training run."""
    return _results(env, agent, hp, run_params, run_seed)["return_var"]


@accepts_param_names
def return_cdf(env: Any, agent: Any, hp: Any, run_params: Any, run_seed: Any) -> list[float]:
    """The sorted test returns of one training run."""
    return _results(env, agent, hp, run_params, run_seed)["returns_cdf"]


@accepts_param_names
def run_noise_ratio(setting_cdfs: Sequence[tuple[Any, Sequence[float]]]) -> dict[str, float]:
    """``noise_ratio`` of ``[(setting, returns over seeds), …]`` (a
    ``point_values:cdf`` measure): trial std, hyperparameter std, their ratio."""
    return noise_ratio([list(values) for _, values in setting_cdfs])


@accepts_param_names
def normalized_scores(agent_env_values: Sequence[tuple[str, Sequence[tuple[str, Sequence[float]]]]]) -> dict[str, Any]:
    """Normalise returns per environment, so environments of different
    scales can be averaged: on each environment, 0 is the lowest value any
    agent got and 1 the highest.

    Args:
        agent_env_values: ``[(agent, [(env, values), …]), …]`` (a
            ``point_values:point_values:cdf:…`` measure).

    Returns:
        ``{"per_env": {agent: {env: normalised mean}}, "mean": {agent: mean
        over environments}, "cdf": {agent: sorted normalised values},
        "ranges": {env: [low, high]}}``.
    """
    ranges: dict[str, list[float]] = {}
    for _, envs in agent_env_values:
        for env, values in envs:
            low, high = min(values), max(values)
            old = ranges.setdefault(str(env), [low, high])
            old[0], old[1] = min(old[0], low), max(old[1], high)

    def scale(env: str, value: float) -> float:
        low, high = ranges[env]
        return (value - low) / (high - low) if high > low else 0.5

    per_env: dict[str, dict[str, float]] = {}
    cdf: dict[str, list[float]] = {}
    for agent, envs in agent_env_values:
        scores = per_env.setdefault(str(agent), {})
        pooled = cdf.setdefault(str(agent), [])
        for env, values in envs:
            normalised = [scale(str(env), float(v)) for v in values]
            scores[str(env)] = sum(normalised) / len(normalised)
            pooled += normalised
        pooled.sort()
    means = {agent: sum(scores.values()) / len(scores) for agent, scores in per_env.items() if scores}
    return {"per_env": per_env, "mean": means, "cdf": cdf, "ranges": ranges}
