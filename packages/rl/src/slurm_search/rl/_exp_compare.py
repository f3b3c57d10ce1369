"""Experiments that compare: agents, hyperparameter spaces, environments.

- ``compare_agents``: enumerate agents, sample hyperparameters, compare the
  distributions of their returns.
- ``compare_hp_spaces_random``: one agent, random settings from each of
  several hyperparameter spaces (the original's ``compare_hp_spaces``, with
  TPE and a fresh-seed evaluation, is in ``_exp_single_env``).
- ``multienv_agent_grid``: agents × classic-control environments, returns
  normalised per environment (the original's ``multienv_benchmark``, one
  agent tuned across environments, is in ``_exp_multienv``).
"""

from __future__ import annotations

import math
from typing import Any

from hyperopt import hp

from slurm_search.dsl import Spec, enumeration_sampling, param, random_sampling

from ._bootstrap import search_curve
from ._checks import check_params
from ._display import format_setting, history_plots, mean_std, plots_dir, report_paths, run_title
from ._exp_common import A2C_SPACE, RUN, RUN_DEBUG, RUN_SEED_SPACE, SLURM, seed_runs
from ._nodes import normalized_scores
from ._plots import plot_return_cdfs, plot_search_curves, plot_setting_percentile_surface

__all__ = ["compare_agents_exp", "compare_hp_spaces_exp", "multienv_benchmark_exp"]


def _hp_sample(space: str = "hp") -> Any:
    """Random settings (from ``space``, default ``hp_space``), each run on seeds."""
    return random_sampling(
        "hp" if space == "hp" else ("hp", space),
        seed_runs("search:runs_per_setting"),
        sample_count="search:settings",
        method="search:method",
        threads="search:threads",
    )


def _curves(group_cdfs: dict[str, list[tuple[Any, list[float]]]], trials: int = 200) -> dict[str, dict]:
    curves = {}
    for label, setting_cdfs in group_cdfs.items():
        runs = [list(map(float, values)) for _, values in setting_cdfs]
        curves[label] = search_curve(runs, len(runs), max(len(r) for r in runs), trials=trials, seed=0)
    return curves


# -- compare_agents -----------------------------------------------------------


def compare_agents() -> dict[str, Any]:
    """Compare agents: for each, random settings × seeds; which is best and which most consistent."""
    check_params()
    agents = enumeration_sampling("agent", _hp_sample())
    return {
        "best_agent": agents["argmax:mean:mean"],
        "most_consistent_agent": agents["argmin:std:mean"],
        "agent_means": agents["point_values:mean:mean"],
        "agent_cdfs": agents["point_values:cdf:mean"],
        "agent_setting_cdfs": agents["point_values:point_values:cdf"],
    }


def display_compare_agents(session_name: str, params: dict, results: dict) -> list:
    """Print each agent's return over settings; plot their CDFs and search curves."""
    for agent, values in results["agent_cdfs"]:
        print(f"{agent:24s} mean return over settings {mean_std(values)}")
    print(f"highest mean: {results['best_agent']}; most consistent across settings: {results['most_consistent_agent']}")
    folder, name = plots_dir(session_name), run_title(params)
    paths = [
        plot_return_cdfs(
            {str(agent): values for agent, values in results["agent_cdfs"]},
            folder / "agent_return_cdfs.png",
            title=f"Mean return of random settings, per agent\n{name}",
            ylabel="Mean test return over seeds",
        ),
        plot_search_curves(
            _curves({str(agent): cdfs for agent, cdfs in results["agent_setting_cdfs"]}),
            folder / "agent_search_curves.png",
            title=f"Simulated random search per agent\n{name}",
        ),
    ]
    return report_paths(paths + history_plots(session_name))


compare_agents_exp = Spec(
    config={
        "agent_space": ["classic:a2c", "classic:ppo"],
        "env": "classic:CartPole-v1",
        "hp_space": dict(A2C_SPACE),
        "run_seed_space": RUN_SEED_SPACE,
        "run": dict(RUN),
        "search": {"settings": 30, "runs_per_setting": 1, "method": "slurm", "threads": 8},
        "slurm": dict(SLURM),
    },
    experiment_func=compare_agents,
    debug_overrides={
        "agent_space": ["debug1", "debug2"],
        "search": {"method": "inline", "settings": 4, "runs_per_setting": 2},
        "run": RUN_DEBUG,
    },
    display_func=display_compare_agents,
    ref="compare_agents",
)


# -- compare_hp_spaces --------------------------------------------------------


def compare_hp_spaces() -> dict[str, Any]:
    """Random settings of one agent from each space of hp_spaces: distributions, search curves, surfaces."""
    check_params()
    results = {}
    for space_name in sorted(param("hp_spaces")):
        sample = _hp_sample(f"hp_spaces:{space_name}")
        results[space_name] = {
            "best_hp": sample["argmax:mean"],
            "best_mean": sample["max:mean"],
            "mean": sample["mean:mean"],
            "std": sample["std:mean"],
            "cdf": sample["cdf:mean"],
            "setting_cdfs": sample["point_values:cdf"],
        }
    return results


def display_compare_hp_spaces(session_name: str, params: dict, results: dict) -> list:
    """Print each space's returns and best setting; plot CDFs, search curves, surfaces."""
    for space_name, space in sorted(results.items()):
        print(
            f"{space_name:16s} mean return over settings {mean_std(space['cdf'])}; "
            f"best {space['best_mean']:.4g} at {format_setting(space['best_hp'])}"
        )
    folder, name = plots_dir(session_name), run_title(params)
    paths = [
        plot_return_cdfs(
            {space_name: space["cdf"] for space_name, space in sorted(results.items())},
            folder / "space_return_cdfs.png",
            title=f"Mean return of random settings, per space\n{name}",
            ylabel="Mean test return over seeds",
        ),
        plot_search_curves(
            _curves({space_name: space["setting_cdfs"] for space_name, space in sorted(results.items())}),
            folder / "space_search_curves.png",
            title=f"Simulated random search per space\n{name}",
        ),
    ]
    for space_name, space in sorted(results.items()):
        paths += plot_setting_percentile_surface(
            [values for _, values in space["setting_cdfs"]],
            folder / f"setting_percentile_return_{space_name}.png",
            title=f"Return by setting and seed percentile: {space_name}\n{name}",
            zlabel="Mean test return",
        )
    return report_paths(paths + history_plots(session_name))


compare_hp_spaces_exp = Spec(
    config={
        "agent": "classic:a2c",
        "env": "classic:CartPole-v1",
        "hp_spaces": {
            "lr_only": {"lr": hp.loguniform("lr", math.log(1e-4), math.log(1e-2))},
            "lr_entropy": dict(A2C_SPACE),
            "narrow": {
                "lr": hp.loguniform("lr", math.log(1e-3), math.log(5e-3)),
                "entropy_loss_scaling": hp.uniform("entropy_loss_scaling", 0.0, 0.02),
            },
            "wide": {
                "lr": hp.loguniform("lr", math.log(1e-5), math.log(1e-1)),
                "entropy_loss_scaling": hp.uniform("entropy_loss_scaling", 0.0, 0.3),
                "n_steps": hp.quniform("n_steps", 4, 64, 1),
            },
        },
        "run_seed_space": RUN_SEED_SPACE,
        "run": dict(RUN),
        "search": {"settings": 48, "runs_per_setting": 4, "method": "slurm", "threads": 32},
        "slurm": dict(SLURM),
    },
    experiment_func=compare_hp_spaces,
    debug_overrides={
        "agent": "debug",
        "search": {"method": "inline", "settings": 4, "runs_per_setting": 2},
        "run": RUN_DEBUG,
    },
    display_func=display_compare_hp_spaces,
    ref="compare_hp_spaces_random",
)


# -- multienv_benchmark -------------------------------------------------------


def multienv_benchmark() -> dict[str, Any]:
    """Every agent × classic-control environment, random settings × seeds, returns normalised per environment."""
    check_params()
    grid = enumeration_sampling("agent", enumeration_sampling("env", _hp_sample()))
    setting_means = grid["point_values:point_values:cdf:mean"]
    return {
        "agent_env_means": grid["point_values:point_values:mean:mean"],
        "agent_env_setting_means": setting_means,
        "scores": normalized_scores(setting_means),
    }


def display_multienv_benchmark(session_name: str, params: dict, results: dict) -> list:
    """Print the normalised score table; plot each agent's normalised returns."""
    scores = results["scores"]
    envs = sorted(scores["ranges"])
    print("normalised mean return (0 = lowest, 1 = highest seen on that environment):")
    print(f"{'agent':24s} " + " ".join(f"{env.split(':')[-1]:>16s}" for env in envs) + f" {'mean':>8s}")
    for agent in sorted(scores["per_env"]):
        row = scores["per_env"][agent]
        cells = " ".join(f"{row.get(env, math.nan):16.3f}" for env in envs)
        print(f"{agent:24s} {cells} {scores['mean'][agent]:8.3f}")
    folder, name = plots_dir(session_name), run_title(params)
    paths = [
        plot_return_cdfs(
            scores["cdf"],
            folder / "normalised_return_cdfs.png",
            title=f"Normalised mean return of random settings, all environments\n{name}",
            ylabel="Normalised mean test return",
        )
    ]
    return report_paths(paths + history_plots(session_name))


multienv_benchmark_exp = Spec(
    config={
        "agent_space": ["classic:a2c", "classic:ppo", "classic:dqn"],
        "env_space": ["classic:CartPole-v1", "classic:Acrobot-v1", "classic:MountainCar-v0"],
        # lr is the hyperparameter every one of these presets takes.
        "hp_space": {"lr": hp.loguniform("lr", math.log(1e-4), math.log(1e-2))},
        "run_seed_space": RUN_SEED_SPACE,
        "run": dict(RUN),
        "search": {"settings": 16, "runs_per_setting": 4, "method": "slurm", "threads": 32},
        "slurm": dict(SLURM),
    },
    experiment_func=multienv_benchmark,
    debug_overrides={
        "agent_space": ["debug", "debug3"],
        "search": {"method": "inline", "settings": 3, "runs_per_setting": 2},
        "run": RUN_DEBUG,
    },
    display_func=display_multienv_benchmark,
    ref="multienv_agent_grid",
)
