"""What the display functions of the original's experiments share: where
their figures go (the run's ``plots`` folder, under the original's figure
names), the setting surfaces, and the printed noise ratio."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ._bootstrap import noise_ratio
from ._display import plots_dir, short_name
from ._display_tools import display_setting_cdf_surface, display_setting_samples, display_setting_surface

__all__ = ["fig_name", "flattened_values", "noise_line", "setting_sample_plots", "surface_plots"]

logger = logging.getLogger(__name__)


def fig_name(session_name: str, name: str) -> str:
    """The path (without ``.png``) of figure ``name`` of run ``session_name``."""
    return str(plots_dir(session_name) / name)


def flattened_values(results: Mapping[str, Any], depth: int) -> list[float]:
    """The leaf values of nested sampling results (``point_values`` ``depth`` deep)."""
    level: list[Any] = [results]
    for _ in range(depth):
        level = [value for node in level for _, value in node["point_values"]]
    return [float(value) for value in level]


def surface_plots(
    session_name: str,
    setting_means: Sequence[tuple[Mapping[str, Any], float]],
    setting_cdfs: Sequence[tuple[Any, Sequence[float]]],
    dims: Sequence[str] = ("entropy_loss_scaling", "lr"),
    prefix: str = "",
    zlabel: str = "Return",
) -> list[Path]:
    """The mean return over two setting dimensions, and each setting's
    return percentiles; a plot the data cannot make (too few settings, a
    dimension the space lacks) is skipped with a note, as the original did."""
    paths: list[Path] = []
    settings = [setting for setting, _ in setting_means]
    if all(isinstance(s, Mapping) and all(d in s for d in dims) for s in settings):
        try:
            paths += display_setting_surface(
                setting_means,
                setting_dims=list(dims),
                zlabel="Mean return",
                title=f"Mean return by {dims[0]} and {dims[1]} ({short_name(session_name)})",
                fig_name=fig_name(session_name, f"{prefix}setting_mean_return"),
            )
        except ValueError as err:
            logger.warning("no setting surface: %s", err)
    else:
        logger.info("no setting surface: the settings lack %s", " or ".join(dims))
    try:
        paths += display_setting_cdf_surface(
            list(setting_cdfs),
            zlabel=zlabel,
            title=f"Return by setting and percentile ({short_name(session_name)})",
            fig_name=fig_name(session_name, f"{prefix}setting_percentile_return"),
        )
    except ValueError as err:
        logger.warning("no percentile surface: %s", err)
    return paths


def noise_line(session_name: str, setting_cdfs: Sequence[tuple[Any, Sequence[float]]], label: str = "") -> float:
    """Print (and return) the ratio of the trial standard deviation (mean
    over settings of the std of their runs) to the hyperparameter standard
    deviation (std over settings of their mean), as the original printed it."""
    found = noise_ratio([[float(v) for v in values] for _, values in setting_cdfs])
    trial_std, hp_std, ratio = found["trial_std"], found["hp_std"], found["ratio"]
    tag = f" {label}" if label else ""
    print(f"[{session_name}]{tag} Trial STD / HP std = {trial_std:0.3} / {hp_std:0.3} = {ratio:0.3}")
    return ratio


def setting_sample_plots(
    session_name: str,
    points: Sequence[tuple[Mapping[str, Any], float]],
    names: Sequence[str],
    best: Mapping[str, Any] | None = None,
    prefix: str = "",
) -> list[Path]:
    """Per hyperparameter, (its value, run result) of every run, the best setting marked."""
    paths: list[Path] = []
    for name in names:
        group = [
            (setting[name], value) for setting, value in points if isinstance(setting, Mapping) and name in setting
        ]
        if not group:
            continue
        best_choices = None
        if best is not None and name in best:
            # The best setting's runs: mark their mean at its value.
            chosen = [result for value, result in group if value == best[name]]
            if chosen:
                best_choices = [(best[name], sum(chosen) / len(chosen))]
        paths += display_setting_samples(
            point_groups=[group],
            best_choices=best_choices,
            labels=[name],
            xlabel=name,
            ylabel="Run result",
            title=f"Multienv {name} performance ({short_name(session_name)})",
            fig_name=fig_name(session_name, f"{prefix}{name}_performance"),
        )
    return paths
