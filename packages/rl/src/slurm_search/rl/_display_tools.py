"""The original slurm-search's display helpers, under their names and with
their arguments, drawing headless into image files.

The original drew with pyplot and opened windows (``show=True``) or saved
``<fig_name>.png`` in the working directory. These draw on their own
``Figure`` (Agg canvas: no display, no global state, safe in threads) and
write ``<fig_name>.png`` (a path; the experiments give one in the run's
``plots`` folder); ``show=True`` without a ``fig_name`` writes
``<helper name>.png`` in the working directory instead of opening a window.
Each returns the paths it wrote.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import _figures

__all__ = [
    "display_bootstrapped_random_search_runs",
    "display_cdfs",
    "display_runs",
    "display_setting_cdf_surface",
    "display_setting_samples",
    "display_setting_surface",
    "display_surface",
    "product_contours",
    "simulated_search",
]

logger = logging.getLogger(__name__)


def _target(fig_name: str | None, show: bool, helper: str, suffix: str = "") -> Path | None:
    if fig_name:
        return Path(f"{fig_name}{suffix}.png")
    if show:
        return Path(f"{helper}{suffix}.png")
    return None


def _save(figure, path: Path | None) -> list[Path]:
    return [] if path is None else [_figures.save(figure, path)]

def display_cdfs(
    cdfs: Sequence[Sequence[float]],
    labels: Sequence[str] | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = None,
    fig_name: str | None = None,
    show: bool = False,
) -> list[Path]:
    """Each sorted sample (``cdf``) against its percentile, one line per sample."""
    figure, axes = _figures.figure()
    for index, cdf in enumerate(cdfs):
        values = np.sort(np.asarray(cdf, dtype=float))
        axes.plot(np.linspace(0, 1, len(values)), values, label=labels[index] if labels else None)
    if labels:
        axes.legend(loc="best")
    if title:
        axes.set_title(title)
    axes.set_xlabel(xlabel or "Percentile")
    if ylabel:
        axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3)
    return _save(figure, _target(fig_name, show, "display_cdfs"))


def _product_contours(axes: Any, X: Any, Y: Any, levels: int = 10) -> Any:
    """Draw contours of ``X * Y`` on ``axes`` (lines of equal budget when X
    and Y are, say, settings and runs per setting)."""
    return axes.contour(X, Y, np.asarray(X) * np.asarray(Y), levels=levels, colors="b", linewidths=0.8)


# Public under the original's name, which display_surface's argument shadows.
product_contours = _product_contours


def display_surface(
    Z: Any,
    X: Any = None,
    Y: Any = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    zlabel: str | None = None,
    title: str | None = None,
    view_angle: float = 160,
    show_points: bool = False,
    product_contours: bool = False,  # noqa: F811  (the original's argument name)
    contour_levels: Any = None,
    fig_name: str | None = None,
    show: bool = False,
) -> list[Path]:
    """A 3-D surface and a filled contour plot of ``Z``.

    ``Z`` is a 2-D grid (rows: Y from 0 to 1, columns: X from 0 to 1), or,
    with ``X`` and ``Y``, values at scattered points, interpolated linearly
    on a 450 × 500 grid. Writes ``<fig_name>_surface.png`` and
    ``<fig_name>_contour.png``.

    Raises:
        ValueError: shapes that do not fit, or scattered points that span no
            area (fewer than three, or all on a line).
    """
    import matplotlib.tri as tri
    from matplotlib import cm

    Z = np.asarray(Z, dtype=float)
    if X is not None or Y is not None:
        X, Y = np.asarray(X, dtype=float), np.asarray(Y, dtype=float)
        if not (X.shape == Y.shape == Z.shape and Z.ndim == 1):
            raise ValueError(f"X, Y and Z must be 1-D of one length, got {X.shape}, {Y.shape}, {Z.shape}")
        try:
            interpolator = tri.LinearTriInterpolator(tri.Triangulation(X, Y), Z)
        except (ValueError, RuntimeError) as err:
            raise ValueError(f"the points span no area to draw a surface on ({err})") from None
        orig_X, orig_Y = X, Y
        X, Y = np.meshgrid(np.linspace(X.min(), X.max(), 450), np.linspace(Y.min(), Y.max(), 500))
        grid = interpolator(X, Y)
        Z_zeros, Z_nans = grid.filled(0), grid.filled(np.nan)
    else:
        if Z.ndim != 2:
            raise ValueError(f"Z must be a 2-D grid without X and Y, got shape {Z.shape}")
        rows, columns = Z.shape
        X, Y = np.meshgrid(np.linspace(0, 1, columns), np.linspace(0, 1, rows))
        orig_X, orig_Y = X, Y
        Z_zeros = Z_nans = Z

    paths: list[Path] = []
    figure, axes = _figures.figure("3d")
    axes.plot_surface(X, Y, Z_zeros, cmap=cm.coolwarm)
    for setter, label in ((axes.set_xlabel, xlabel), (axes.set_ylabel, ylabel), (axes.set_zlabel, zlabel)):
        if label:
            setter(label)
    axes.view_init(elev=30, azim=view_angle)
    if title:
        axes.set_title(title)
    paths += _save(figure, _target(fig_name, show, "display_surface", "_surface"))

    figure, axes = _figures.figure()
    levels = contour_levels if contour_levels is not None else 8
    if np.nanmax(Z_nans) > np.nanmin(Z_nans):
        axes.contour(X, Y, Z_nans, levels=levels, colors="k", linewidths=0.5)
        filled = axes.contourf(X, Y, Z_nans, levels=levels, cmap="RdBu_r")
        figure.colorbar(filled, ax=axes, label=zlabel)
    if product_contours:
        _product_contours(axes, X, Y)
    if show_points:
        axes.plot(orig_X, orig_Y, "ko", ms=3)
    if xlabel:
        axes.set_xlabel(xlabel)
    if ylabel:
        axes.set_ylabel(ylabel)
    if title:
        axes.set_title(title)
    paths += _save(figure, _target(fig_name, show, "display_surface", "_contour"))
    return paths


def display_setting_surface(
    setting_result: Sequence[tuple[Mapping[str, Any], float]],
    setting_dims: Sequence[str],
    zlabel: str | None = None,
    title: str | None = None,
    fig_name: str | None = None,
    show: bool = False,
    product_contours: bool = False,
    contour_levels: Any = None,
    show_points: bool = True,
) -> list[Path]:
    """The result of each setting over two of its dimensions (``setting_dims``,
    x then y), from ``[(setting, result), …]`` (a ``point_values:mean`` measure)."""
    x_label, y_label = setting_dims
    X, Y, Z = np.array(
        [[setting[x_label], setting[y_label], result] for setting, result in setting_result], dtype=float
    ).T
    return display_surface(
        Z,
        X,
        Y,
        xlabel=x_label,
        ylabel=y_label,
        zlabel=zlabel or "Result",
        title=title,
        show_points=show_points,
        view_angle=-140,
        product_contours=product_contours,
        contour_levels=contour_levels,
        fig_name=fig_name,
        show=show,
    )


def display_setting_cdf_surface(
    setting_cdfs: Sequence[Any],
    zlabel: str | None = None,
    title: str | None = None,
    fig_name: str | None = None,
    show: bool = False,
) -> list[Path]:
    """Each setting's sorted run results (rows: settings ordered by mean;
    columns: percentile), from ``[(setting, cdf), …]`` or ``[cdf, …]``.

    Raises:
        ValueError: the settings do not have the same number of runs.
    """
    if setting_cdfs and isinstance(setting_cdfs[0], tuple):
        setting_cdfs = [cdf for _, cdf in setting_cdfs]
    lengths = {len(cdf) for cdf in setting_cdfs}
    if len(lengths) != 1:
        raise ValueError(f"every setting needs the same number of runs, got {sorted(lengths)}")
    grid = np.sort(np.array(setting_cdfs, dtype=float), axis=1)
    grid = grid[np.argsort(grid.mean(axis=1))]
    return display_surface(
        grid,
        xlabel="Percentile",
        ylabel="Settings",
        zlabel=zlabel or "Result",
        view_angle=-120,
        title=title,
        fig_name=fig_name,
        show=show,
    )


def display_setting_samples(
    point_groups: Sequence[Sequence[tuple[float, float]]],
    best_choices: Sequence[tuple[float, float]] | None = None,
    labels: Sequence[str] | None = None,
    xlabel: str | None = None,
    xscale: str = "linear",
    ylabel: str | None = None,
    title: str | None = None,
    fig_name: str | None = None,
    show: bool = False,
) -> list[Path]:
    """Scatter of (setting value, result) per group, the best (or the given
    ``best_choices``) marked with a triangle."""
    figure, axes = _figures.figure()
    labels = labels or [f"Group {i + 1}" for i in range(len(point_groups))]
    for index, (group, label) in enumerate(zip(point_groups, labels)):
        xs, ys = zip(*group)
        axes.scatter(xs, ys, marker=".", label=label)
        best = best_choices[index] if best_choices else max(group, key=lambda point: point[1])
        axes.scatter([best[0]], [best[1]], marker="^", s=80, label=f"{label} (best)")
    axes.legend(loc="best")
    if title:
        axes.set_title(title)
    axes.set_xscale(xscale)
    if xlabel:
        axes.set_xlabel(xlabel)
    if ylabel:
        axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3)
    return _save(figure, _target(fig_name, show, "display_setting_samples"))


def display_runs(
    setting_runs: Any,
    labels: Sequence[str] | None = None,
    stdev: bool = False,
    title: str | None = None,
    fig_name: str | None = None,
    show: bool = False,
) -> list[Path]:
    """Per group of runs (``setting_runs``: groups × runs × steps), the mean
    over runs at each step with a band of one standard deviation (of the
    mean with ``stdev``)."""
    setting_runs = np.asarray(setting_runs, dtype=float)
    _, n_runs, n_steps = setting_runs.shape
    labels = labels or [f"Group {i + 1}" for i in range(len(setting_runs))]
    figure, axes = _figures.figure()
    steps = np.arange(n_steps) + 1
    for index, (label, runs) in enumerate(zip(labels, setting_runs)):
        color = f"C{index}"
        mean, std = runs.mean(axis=0), runs.std(axis=0)
        if stdev:
            std = std / math.sqrt(n_runs)
        axes.plot(steps, mean, label=label, color=color)
        axes.plot(steps, mean + std, color=color, linestyle="--")
        axes.plot(steps, mean - std, color=color, linestyle="--")
        axes.fill_between(steps, mean - std, mean + std, facecolor=color, alpha=0.15)
    axes.legend(loc="best")
    axes.set_xlabel("Step")
    axes.set_ylabel("Estimated Best Performance")
    if title:
        axes.set_title(title)
    axes.grid(alpha=0.3)
    return _save(figure, _target(fig_name, show, "display_runs"))


def simulated_search(
    setting_samples: Any,
    setting_sample_count: int,
    run_samples_per_setting: int,
    rng: np.random.Generator | None = None,
) -> list[float]:
    """One simulated random search over a sample (settings × runs), as the
    original ran it: settings in random order, each seen through
    ``run_samples_per_setting`` runs drawn with replacement; after every run
    drawn, the true mean (over all its runs) of the setting believed best so
    far. Returns ``setting_sample_count * run_samples_per_setting + 1`` values."""
    rng = rng or np.random.default_rng()
    samples = np.array(setting_samples, dtype=float)
    samples = samples[rng.permutation(len(samples))][:setting_sample_count]
    true_means = samples.mean(axis=1)
    trace: list[float] = []
    best_index, best_measured = 0, None
    for index, runs in enumerate(samples):
        drawn = []
        for _ in range(run_samples_per_setting):
            drawn.append(rng.choice(runs))
            trace.append(float(true_means[best_index]))
        measured = float(np.mean(drawn))
        if best_measured is None or best_measured < measured:
            best_index, best_measured = index, measured
    trace.append(float(true_means[best_index]))
    return trace


def display_bootstrapped_random_search_runs(
    search_results: Mapping[str, Any],
    search_samples: int = 16,
    setting_sample_count: int = 16,
    run_samples_per_setting: int = 6,
    fig_name: str | None = None,
    seed: int = 0,
) -> list[Path]:
    """Traces of ``search_samples`` simulated random searches drawn from the
    results of a ``random_sampling("hp", random_sampling("run_seed", …))``
    (``point_values`` nested two deep), mean ± standard error.

    Writes ``<fig_name>.png``, by default ``<session name>_simulated_searches.png``
    as the original did.
    """
    setting_samples = [
        [result for _, result in hp_results["point_values"]] for _, hp_results in search_results["point_values"]
    ]
    rng = np.random.default_rng(seed)
    traces = np.array(
        [
            [
                simulated_search(setting_samples, setting_sample_count, run_samples_per_setting, rng)
                for _ in range(search_samples)
            ]
        ]
    )
    name = fig_name or f"{str(search_results.get('session_name')).split(':')[-1]}_simulated_searches"
    return display_runs(
        traces,
        labels=["bootstrap sim'd random searches"],
        stdev=True,
        title="Bootstrap-simulated random searches [stdev].",
        fig_name=name,
    )
