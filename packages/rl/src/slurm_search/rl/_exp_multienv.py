"""Tuning one agent across environments: the original's multienv experiments.

Each tunes with TPE (``maximizing_sampling``) over settings; a setting's
score is the mean over ``search:env_samples_per_setting`` environments drawn
from ``env_space`` of the mean over ``search:run_samples_per_setting_env``
seeds of one training's mean test return (``maximize_measure="mean:mean"``).
The best setting is then evaluated on ``eval:env_samples`` fresh
environment draws.

- ``multienv_hp_tuning_effects``: A2C on the safe Atari games, each return
  normalised by the ALE paper's scores (``linear_env_norm``).
- ``multienv_tuning_beta``: the same on the older, shorter game list, with
  ``n_envs``/``n_steps`` of at least 2.
- ``multienv_benchmark``: A2C on CartPole, MountainCar and Acrobot, raw returns.
- ``multienv_atari_benchmark`` (and ``_dqn``, ``_vsarsa``): A2C (DQN, vanilla
  SARSA) on the first 8 of the older game list, raw returns.

The original's ``multienv_benchmark`` and ``multienv_atari_benchmark`` drew
the best setting's evaluation in their display without computing it; here
they compute it (as ``multienv_hp_tuning_effects`` does), so the display
works.
"""

from __future__ import annotations

import math
from typing import Any

from hyperopt import hp

from slurm_search.dsl import Spec, maximizing_sampling, random_sampling, use

from ._baselines import linear_env_norm, safe_atari_envs
from ._checks import check_params
from ._display import report_paths, short_name
from ._display_tools import display_cdfs
from ._exp_common import SLURM
from ._exp_display import fig_name, flattened_values, noise_line, setting_sample_plots, surface_plots
from ._nodes import return_mean
from .spaces import a2c_space, atari_a2c_space, atari_dqn_space, atari_vsarsa_space

__all__ = [
    "multienv_atari_benchmark_dqn_exp",
    "multienv_atari_benchmark_exp",
    "multienv_atari_benchmark_vsarsa_exp",
    "multienv_benchmark_exp",
    "multienv_hp_tuning_effects_exp",
    "multienv_tuning_beta_exp",
]

CLASSIC_ENVS = ["classic:CartPole-v1", "classic:MountainCar-v0", "classic:Acrobot-v1"]
# The original's ``test_atari_envs``: the first 8 of its older safe list.
TEST_ATARI_ENVS = sorted(safe_atari_envs(legacy=True))[:8]
RUN_SEED_SPACE = hp.quniform("run_seed", 0, 2**31, 1)


def _run_return(normalise: bool) -> Any:
    value = return_mean("env", "agent", "hp", "run_params", "run_seed")
    return linear_env_norm("env", value) if normalise else value


def multienv_tuning(normalise: bool) -> dict[str, Any]:
    """TPE over settings of the mean over environments of the mean over
    seeds; then the best setting on fresh environments and seeds."""
    check_params()
    space_samples = maximizing_sampling(
        "hp",
        random_sampling(
            "env",
            random_sampling(
                "run_seed", _run_return(normalise),
                sample_count="search:run_samples_per_setting_env", method="inline",
            ),
            sample_count="search:env_samples_per_setting", method="inline",
        ),
        sample_count="search:setting_samples",
        maximize_measure="mean:mean",
        method="search:method",
        threads="search:threads",
    )
    best_hp = space_samples["argmax:mean:mean"]
    best_hp_samples = use("hp", best_hp)[
        random_sampling(
            "env",
            random_sampling(
                "run_seed", _run_return(normalise),
                sample_count="eval:run_samples_per_env", method="inline",
            ),
            sample_count="eval:env_samples",
            method="eval:method",
            threads="eval:threads",
        )
    ]
    return {
        "best_hp": best_hp,
        "best_hp_results": best_hp_samples,
        "space_results": space_samples,
        "space_returns_mean": space_samples["mean:mean:mean"],
        "space_returns_std": space_samples["std:mean:mean"],
        "space_returns_cdf": space_samples["cdf:mean:mean"],
        "space_hp_returns_mean": space_samples["point_values:mean:mean"],
        "space_hp_returns_cdf": space_samples["point_values:cdf:mean"],
    }


def multienv_hp_tuning_effects() -> dict[str, Any]:
    """TPE-tune A2C across the safe Atari games, returns normalised by the ALE paper's scores; evaluate the best setting."""  # noqa: E501 - run_exp lists this line
    return multienv_tuning(normalise=True)


def multienv_tuning_beta() -> dict[str, Any]:
    """The first multienv tuning: A2C across the older Atari game list, ALE-normalised returns; evaluate the best setting."""  # noqa: E501 - run_exp lists this line
    return multienv_tuning(normalise=True)


def multienv_benchmark() -> dict[str, Any]:
    """TPE-tune A2C across CartPole, MountainCar and Acrobot (raw returns); evaluate the best setting."""
    return multienv_tuning(normalise=False)


def multienv_atari_benchmark() -> dict[str, Any]:
    """TPE-tune A2C across 8 Atari games (raw returns); evaluate the best setting."""
    return multienv_tuning(normalise=False)


def multienv_atari_benchmark_dqn() -> dict[str, Any]:
    """TPE-tune DQN across 8 Atari games (raw returns); evaluate the best setting."""
    return multienv_tuning(normalise=False)


def multienv_atari_benchmark_vsarsa() -> dict[str, Any]:
    """TPE-tune vanilla SARSA across 8 Atari games (raw returns); evaluate the best setting."""
    return multienv_tuning(normalise=False)


def display_multienv(session_name: str, params: dict, results: dict) -> list:
    """The original's multienv display: setting surfaces, the best setting
    against the whole space, the noise ratio, and per hyperparameter the
    result of every run."""
    paths = surface_plots(session_name, results["space_hp_returns_mean"], results["space_hp_returns_cdf"])
    best = flattened_values(results["best_hp_results"], 2)
    best_mean = sum(best) / len(best)
    best_std = math.sqrt(sum((v - best_mean) ** 2 for v in best) / len(best))
    print(f"{params['agent']}: best setting {results['best_hp']}")
    for label, mean, std in (
        ("trial best", best_mean, best_std),
        ("entire space", results["space_returns_mean"], results["space_returns_std"]),
    ):
        print(f"Performance for {label}: {mean} +/- {std}")
    paths += display_cdfs(
        [results["space_returns_cdf"], sorted(best)],
        ["space", "trial_best"],
        ylabel="Return",
        title=f"Performance CDFs of various HPs ({short_name(session_name)})",
        fig_name=fig_name(session_name, "setting_cdfs"),
    )
    noise_line(session_name, results["space_hp_returns_cdf"])
    # Every run: setting -> environment -> seed.
    points = [
        (setting, float(value))
        for setting, env_results in results["space_results"]["point_values"]
        for _, seed_results in env_results["point_values"]
        for _, value in seed_results["point_values"]
    ]
    names = sorted({name for setting, _ in points for name in setting})
    paths += setting_sample_plots(session_name, points, names, best=results["best_hp"])
    return report_paths(paths)


def _config(agent: str, envs: list[str], space: dict, frames: int, env_samples: int, eval_envs: int) -> dict:
    return {
        "agent": agent,
        "env_space": hp.choice("env", envs),
        "hp_space": space,
        "run_seed_space": RUN_SEED_SPACE,
        "run_params": {"train_frames": frames, "train_episodes": math.inf, "test_episodes": 200},
        "search": {
            "method": "slurm",
            "threads": 16,
            "setting_samples": 16,
            "env_samples_per_setting": env_samples,
            "run_samples_per_setting_env": 1,
        },
        "eval": {"method": "slurm", "threads": 16, "env_samples": eval_envs, "run_samples_per_env": 1},
        "slurm": dict(SLURM),
    }


# The original's debug overrides, with a tiny test: a debug agent, inline.
DEBUG = {
    "search": {"method": "inline", "setting_samples": 3, "env_samples_per_setting": 2},
    "eval": {"method": "inline", "env_samples": 6},
    "agent": "debug",
    "run_params": {"train_frames": 1000, "test_episodes": 5},
}


def _spec(func, config: dict, name: str) -> Spec:
    return Spec(
        config=config, experiment_func=func, debug_overrides=DEBUG, display_func=display_multienv, ref=name,
        description=(func.__doc__ or "").strip().splitlines()[0],
    )


multienv_hp_tuning_effects_exp = _spec(
    multienv_hp_tuning_effects,
    _config("atari:a2c", safe_atari_envs(), a2c_space(minimum_batch=1, value_loss=True), 2_000_000, 6, 16),
    "multienv_hp_tuning_effects",
)
multienv_tuning_beta_exp = _spec(
    multienv_tuning_beta,
    _config("atari:a2c", safe_atari_envs(legacy=True), atari_a2c_space(), 2_000_000, 6, 16),
    "multienv_tuning_beta",
)
multienv_benchmark_exp = _spec(
    multienv_benchmark,
    {**_config("classic:a2c", CLASSIC_ENVS, a2c_space(), 100_000, 8, 16)},
    "multienv_benchmark",
)
multienv_atari_benchmark_exp = _spec(
    multienv_atari_benchmark,
    _config("atari:a2c", TEST_ATARI_ENVS, atari_a2c_space(), 2_000_000, 8, 16),
    "multienv_atari_benchmark",
)
multienv_atari_benchmark_dqn_exp = _spec(
    multienv_atari_benchmark_dqn,
    _config("atari:dqn", TEST_ATARI_ENVS, atari_dqn_space(), 200_000, 8, 16),
    "multienv_atari_benchmark_dqn",
)
multienv_atari_benchmark_vsarsa_exp = _spec(
    multienv_atari_benchmark_vsarsa,
    _config("atari:vsarsa", TEST_ATARI_ENVS, atari_vsarsa_space(), 200_000, 8, 16),
    "multienv_atari_benchmark_vsarsa",
)
