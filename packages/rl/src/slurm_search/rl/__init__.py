"""slurm_search.rl: autonomous-learning-library agents as slurm-search
objectives, the research experiments built on them, and their plots.

Importing this package is cheap: torch and ALL load only when a real agent
runs (``run_results`` with a ``classic:``/``atari:``/``continuous:`` agent),
matplotlib on the first plot, hyperopt with the experiments (entry points of
the group ``slurm_search.experiments``) and the ``ale`` session type.

For experiment files written for the original slurm-search: its
``all_tools.return_mean`` is ``return_mean`` here, its display helpers
(``display_cdfs``, ``display_setting_surface``, …) and its ALE baselines
(``env_min_max_scores``, ``env_names``, ``benchmark_env_cdf``, …) are
here too, its parameter helpers in ``slurm_search.dsl``, and its
``scope.bounded`` is defined by ``slurm_search.rl.spaces``.
"""

from __future__ import annotations

from ._ale import ale, ale_objective
from ._baselines import (
    ALE_AGENTS,
    ATARI_GAMES,
    SLOW_ATARI_GAMES,
    benchmark_data,
    benchmark_env_cdf,
    benchmark_names,
    env_agent_data,
    env_agent_score,
    env_min_max_scores,
    linear_env_norm,
    linear_score,
    percentile_env_norm,
    percentile_score,
    safe_atari_envs,
    write_benchmark,
)
from ._bootstrap import noise_ratio, search_curve, simulate_search, spaced_values
from ._display_tools import (
    display_bootstrapped_random_search_runs,
    display_cdfs,
    display_runs,
    display_setting_cdf_surface,
    display_setting_samples,
    display_setting_surface,
    display_surface,
    product_contours,
    simulated_search,
)
from ._errors import BadRunParams, RLError, UnknownAgent, UnknownEnvironment, UnknownHyperparameter, UnwritableLogdir
from ._history_plot import plot_optimisation_history
from ._names import parse_agent, parse_env, parse_run_params, preset_names
from ._nodes import return_cdf, return_mean, return_var
from ._plots import (
    plot_return_cdfs,
    plot_search_curves,
    plot_setting_percentile_surface,
    plot_setting_samples,
    plot_value_grid,
)
from ._run import run_results, schedule_results, summarize, tensorboard_dir

# The original's name of the set of ALE games (its env_baselines.env_names).
env_names = frozenset(ATARI_GAMES)

__all__ = [
    "ALE_AGENTS",
    "ATARI_GAMES",
    "SLOW_ATARI_GAMES",
    "benchmark_data",
    "benchmark_env_cdf",
    "benchmark_names",
    "display_bootstrapped_random_search_runs",
    "display_cdfs",
    "display_runs",
    "display_setting_cdf_surface",
    "display_setting_samples",
    "display_setting_surface",
    "display_surface",
    "env_agent_data",
    "env_agent_score",
    "env_min_max_scores",
    "env_names",
    "linear_env_norm",
    "linear_score",
    "percentile_env_norm",
    "percentile_score",
    "product_contours",
    "safe_atari_envs",
    "simulated_search",
    "write_benchmark",
    "BadRunParams",
    "RLError",
    "UnknownAgent",
    "UnknownEnvironment",
    "UnknownHyperparameter",
    "UnwritableLogdir",
    "ale",
    "ale_objective",
    "noise_ratio",
    "parse_agent",
    "parse_env",
    "parse_run_params",
    "plot_optimisation_history",
    "plot_return_cdfs",
    "plot_search_curves",
    "plot_setting_percentile_surface",
    "plot_setting_samples",
    "plot_value_grid",
    "preset_names",
    "return_cdf",
    "return_mean",
    "return_var",
    "run_results",
    "schedule_results",
    "search_curve",
    "simulate_search",
    "spaced_values",
    "summarize",
    "tensorboard_dir",
]
