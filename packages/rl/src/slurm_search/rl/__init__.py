"""slurm_search.rl: autonomous-learning-library agents as slurm-search
objectives, the research experiments built on them, and their plots.

Importing this package is cheap: torch and ALL load only when a real agent
runs (``run_results`` with a ``classic:``/``atari:``/``continuous:`` agent),
matplotlib on the first plot, hyperopt with the experiments (entry points of
the group ``slurm_search.experiments``) and the ``ale`` session type.
"""

from __future__ import annotations

from ._ale import ale, ale_objective
from ._bootstrap import noise_ratio, search_curve, simulate_search, spaced_values
from ._errors import BadRunParams, RLError, UnknownAgent, UnknownEnvironment, UnknownHyperparameter
from ._names import parse_agent, parse_env, parse_run_params, preset_names
from ._nodes import return_cdf, return_mean, return_var
from ._plots import (
    plot_optimisation_history,
    plot_return_cdfs,
    plot_search_curves,
    plot_setting_percentile_surface,
    plot_setting_samples,
    plot_value_grid,
)
from ._run import run_results, summarize, tensorboard_dir

__all__ = [
    "BadRunParams",
    "RLError",
    "UnknownAgent",
    "UnknownEnvironment",
    "UnknownHyperparameter",
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
    "search_curve",
    "simulate_search",
    "spaced_values",
    "summarize",
    "tensorboard_dir",
]
