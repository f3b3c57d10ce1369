"""Tuning one agent on one environment: the original's
``hp_tuning_model_best`` and ``compare_hp_spaces``.

- ``hp_tuning_model_best``: TPE over settings (each the mean over
  ``search:run_samples_per_setting`` seeds); then four settings on
  ``eval:run_samples`` fresh seeds each: the best and the worst setting
  tried, and the best and the worst by TPE's model (``model_argmax``,
  ``model_argmin``: the setting TPE would suggest next, and would suggest
  next when minimising).
- ``compare_hp_spaces``: the same TPE search and fresh-seed evaluation of
  the best setting, once per space: a log-uniform one, and three bounded
  lognormal ones of decreasing width.
"""

from __future__ import annotations

import math
from typing import Any

from hyperopt import hp

from slurm_search.dsl import Spec, maximizing_sampling, use

from ._checks import check_params
from ._display import report_paths, short_name
from ._display_tools import display_cdfs
from ._exp_common import SLURM, seed_runs
from ._exp_display import fig_name, noise_line, surface_plots
from .spaces import lognormal_a2c_spaces

__all__ = ["compare_hp_spaces_exp", "hp_tuning_model_best_exp"]

RUN_SEED_SPACE = hp.quniform("run_seed", 0, 2**31, 1)
SPACE_NAMES = [
    "loguniform_hp_space",
    "lognormal_hp_space",
    "lognormal_smaller_hp_space",
    "lognormal_smallerer_hp_space",
]


def _tuning(space: str = "hp") -> Any:
    return maximizing_sampling(
        "hp" if space == "hp" else ("hp", space),
        seed_runs("search:run_samples_per_setting"),
        sample_count="search:setting_samples",
        maximize_measure="mean",
        method="search:method",
        threads="search:threads",
    )


def _fresh(setting: Any) -> Any:
    return use("hp", setting)[seed_runs("eval:run_samples", "search:method", "eval:threads")]


def _space_measures(samples: Any) -> dict[str, Any]:
    return {
        "space_returns_mean": samples["mean:mean"],
        "space_returns_std": samples["std:mean"],
        "space_returns_cdf": samples["cdf:mean"],
        "space_hp_returns_mean": samples["point_values:mean"],
        "space_hp_returns_cdf": samples["point_values:cdf"],
    }


def hp_tuning_model_best() -> dict[str, Any]:
    """TPE-tune, then compare the best and worst settings tried with TPE's model best and worst, on fresh seeds."""
    check_params()
    samples = _tuning()
    settings = {
        "best_hp": samples["argmax:mean"],
        "worst_hp": samples["argmin:mean"],
        "model_best_hp": samples["model_argmax:mean"],
        "model_worst_hp": samples["model_argmin:mean"],
    }
    results: dict[str, Any] = dict(settings)
    for key, setting in settings.items():
        results[key.replace("_hp", "_hp_results")] = _fresh(setting)
    results.update(_space_measures(samples))
    return results


def display_hp_tuning_model_best(session_name: str, params: dict, results: dict) -> list:
    """Surfaces; the four settings and the space, printed and as CDFs."""
    paths = surface_plots(session_name, results["space_hp_returns_mean"], results["space_hp_returns_cdf"])
    rows = [
        ("model best", results["model_best_hp_results"]),
        ("trial best", results["best_hp_results"]),
        ("entire space", {"mean": results["space_returns_mean"], "std": results["space_returns_std"]}),
        ("trial worst", results["worst_hp_results"]),
        ("model worst", results["model_worst_hp_results"]),
    ]
    for label, measured in rows:
        print(f"Performance for {label}: {measured['mean']} +/- {measured['std']}")
    for key in ("best_hp", "model_best_hp", "worst_hp", "model_worst_hp"):
        print(f"{key}: {results[key]}")
    cdfs = {
        "space": results["space_returns_cdf"],
        "trial_best": results["best_hp_results"]["cdf"],
        "trial_worst": results["worst_hp_results"]["cdf"],
        "model_best": results["model_best_hp_results"]["cdf"],
        "model_worst": results["model_worst_hp_results"]["cdf"],
    }
    paths += display_cdfs(
        list(cdfs.values()),
        list(cdfs),
        ylabel="Mean return",
        title=f"Performance CDFs of various HPs ({short_name(session_name)})",
        fig_name=fig_name(session_name, "setting_cdfs"),
    )
    noise_line(session_name, results["space_hp_returns_cdf"])
    return report_paths(paths)


def compare_hp_spaces() -> dict[str, Any]:
    """TPE-tune A2C in each of four spaces (log-uniform, three lognormal), evaluate each best setting on fresh seeds."""
    check_params()
    results = {}
    for space in SPACE_NAMES:
        samples = _tuning(space)
        best = samples["argmax:mean"]
        results[space] = {"best_hp": best, "best_hp_results": _fresh(best), **_space_measures(samples)}
    return results


def display_compare_hp_spaces(session_name: str, params: dict, results: dict) -> list:
    """Per space: surfaces, best against space, CDFs, noise ratio; then all spaces' CDFs."""
    paths = []
    for space, space_results in results.items():
        paths += surface_plots(
            session_name,
            space_results["space_hp_returns_mean"],
            space_results["space_hp_returns_cdf"],
            prefix=f"{space}_",
        )
        best = space_results["best_hp_results"]
        for label, mean, std in (
            ("trial best", best["mean"], best["std"]),
            ("entire space", space_results["space_returns_mean"], space_results["space_returns_std"]),
        ):
            print(f"{space} performance for {label}: {mean} +/- {std}")
        paths += display_cdfs(
            [space_results["space_returns_cdf"], best["cdf"]],
            ["space", "trial_best"],
            ylabel="Mean return",
            title=f"Performance CDFs of various HPs [{space}]",
            fig_name=fig_name(session_name, f"{space}_setting_cdfs"),
        )
        noise_line(session_name, space_results["space_hp_returns_cdf"], label=space)
    run = f"{str(params['agent']).split(':')[-1]} / {str(params['env']).split(':')[-1]}"
    paths += display_cdfs(
        [space_results["space_returns_cdf"] for space_results in results.values()],
        list(results),
        ylabel="Mean HP return",
        title=f"Performance CDFs of HP spaces [{run}]",
        fig_name=fig_name(session_name, "compare_spaces_cdfs"),
    )
    return report_paths(paths)


def _config(space: dict[str, Any]) -> dict[str, Any]:
    return {
        "agent": "classic:a2c",
        "env": "classic:CartPole-v1",
        **space,
        "run_seed_space": RUN_SEED_SPACE,
        "run_params": {"train_frames": 100_000, "train_episodes": math.inf, "test_episodes": 100},
        "search": {"setting_samples": 96, "run_samples_per_setting": 12, "method": "slurm", "threads": 16},
        "eval": {"run_samples": 24, "threads": 8},
        "slurm": dict(SLURM),
    }


# The original's debug overrides (inline, a debug agent) with small budgets.
DEBUG: dict[str, Any] = {
    "agent": "debug",
    "search": {"method": "inline", "setting_samples": 6, "run_samples_per_setting": 3},
    "eval": {"run_samples": 4},
    "run_params": {"train_frames": 1000, "test_episodes": 5},
}

hp_tuning_model_best_exp = Spec(
    config={
        **_config(
            {
                "hp_space": {
                    "lr": hp.loguniform("lr", math.log(0.0001), math.log(0.01)),
                    "entropy_loss_scaling": hp.uniform("els", 0.0, 0.1),
                }
            }
        ),
        "search": {"setting_samples": 96, "run_samples_per_setting": 12, "method": "slurm", "threads": 8},
    },
    experiment_func=hp_tuning_model_best,
    debug_overrides=DEBUG,
    display_func=display_hp_tuning_model_best,
    ref="hp_tuning_model_best",
    description=(hp_tuning_model_best.__doc__ or "").strip(),
)

compare_hp_spaces_exp = Spec(
    config=_config(lognormal_a2c_spaces()),
    experiment_func=compare_hp_spaces,
    debug_overrides={**DEBUG, "search": {**DEBUG["search"], "setting_samples": 4, "run_samples_per_setting": 2}},
    display_func=display_compare_hp_spaces,
    ref="compare_hp_spaces",
    description=(compare_hp_spaces.__doc__ or "").strip(),
)
