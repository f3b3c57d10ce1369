"""An experiment written the way the original slurm-search's files were (a
spec dict, a hyperopt function defined at import under a guard, measures
and display helpers by name), with only its imports pointing at ours.
Used by test_original_style.py; importable from worker processes through
PYTHONPATH."""

from math import log

import numpy as np
from hyperopt import hp
from hyperopt.pyll import scope

from slurm_search.dsl import maximizing_sampling, random_sampling, use
from slurm_search.rl import display_cdfs, display_setting_cdf_surface, display_setting_surface, return_mean


def style_check():
    space_samples = maximizing_sampling(
        ("hp", "narrow_hp_space"),
        random_sampling(
            "run_seed",
            return_mean("env", "agent", "hp", "run_params", "run_seed"),
            sample_count="search:run_samples_per_setting",
            method="inline",
        ),
        sample_count="search:setting_samples",
        maximize_measure="mean",
        method="search:method",
        threads="search:threads",
    )
    best_hp = space_samples["argmax:mean"]
    best_hp_samples = use("hp", best_hp)[
        random_sampling(
            "run_seed",
            return_mean("env", "agent", "hp", "run_params", "run_seed"),
            sample_count="eval:run_samples",
            method="search:method",
            threads="eval:threads",
        )
    ]
    return {
        "best_hp": best_hp,
        "best_hp_results": best_hp_samples,
        "space_hp_returns_mean": space_samples["point_values:mean"],
        "space_hp_returns_cdf": space_samples["point_values:cdf"],
        "space_returns_cdf": space_samples["cdf:mean"],
    }


if not hasattr(scope, "clipped_for_style_check"):
    @scope.define
    def clipped_for_style_check(val, minimum=None, maximum=None):
        if minimum is not None:
            val = max(val, minimum)
        if maximum is not None:
            val = min(val, maximum)
        return val


style_check_config = {
    "agent": "classic:a2c",
    "env": "classic:CartPole-v1",
    "narrow_hp_space": {
        "lr": scope.clipped_for_style_check(hp.lognormal("lr", log(1e-3), 1.0), minimum=5e-4, maximum=2e-3),
        "entropy_loss_scaling": scope.clipped_for_style_check(hp.normal("els", 0.06, 0.05), minimum=0.01, maximum=0.1),
    },
    "run_seed_space": hp.quniform("run_seed", 0, 2 ** 31, 1),
    "run_params": {"train_frames": 100000, "train_episodes": np.inf, "test_episodes": 100},
    "search": {"setting_samples": 5, "run_samples_per_setting": 2, "method": "cpu", "threads": 2},
    "eval": {"run_samples": 3, "threads": 1},
}


def display_style_check(session_name, params, results):
    display_setting_surface(
        results["space_hp_returns_mean"],
        setting_dims=["entropy_loss_scaling", "lr"],
        zlabel="Mean return",
        fig_name=f"{session_name}_setting_mean_return",
    )
    display_setting_cdf_surface(results["space_hp_returns_cdf"], zlabel="Return", fig_name=f"{session_name}_pct")
    display_cdfs(
        [results["space_returns_cdf"], results["best_hp_results"]["cdf"]],
        ["space", "trial_best"],
        fig_name=f"{session_name}_setting_cdfs",
    )
    print(f"Performance for trial best: {results['best_hp_results']['mean']} +/- {results['best_hp_results']['std']}")


style_check_exp = {
    "config": style_check_config,
    "debug_overrides": {"agent": "debug"},
    "display_func": display_style_check,
    "experiment_func": style_check,
}
