"""The experiments' plots: pure functions from plain data (lists, dicts) to
PNG files. Each plot has a title, axis labels and, where several things are
drawn, a legend that names only what is drawn.

Each ``plot_X`` draws with ``draw_X`` (which returns the matplotlib
``Figure``, for tests and notebooks) and saves it. Conventions: legends sit
outside the axes, right of them, so they never cover data; counts (settings
sampled, trials, ranks) get integer ticks; percentile bands are light, with
their edges drawn, so overlapping bands stay readable; hyperparameters
sampled on a log scale get a log axis (``log_x``, see ``_scales.py``).

matplotlib is used headless and without pyplot's global state (a ``Figure``
on an Agg canvas), so plotting works on a cluster node without a display, in
threads, and whatever backend the user's matplotlibrc picks. It is imported
on the first plot, not with the package.
"""

from __future__ import annotations

import logging
import math
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = [
    "draw_return_cdfs",
    "draw_search_curves",
    "draw_setting_percentile_surface",
    "draw_setting_samples",
    "draw_value_grid",
    "plot_return_cdfs",
    "plot_search_curves",
    "plot_setting_percentile_surface",
    "plot_setting_samples",
    "plot_value_grid",
]

from . import _figures

logger = logging.getLogger(__name__)


def draw_return_cdfs(
    groups: Mapping[str, Sequence[float]],
    *,
    title: str = "Return distribution per setting group",
    xlabel: str = "Percentile",
    ylabel: str = "Return",
):
    """Returns against percentile (an inverse CDF), one line per group (see `plot_return_cdfs`)."""
    figure, axes = _figures.figure()
    for label, values in groups.items():
        values = sorted(float(v) for v in values)
        if values:
            axes.plot(
                _figures.percentiles(len(values)), values, drawstyle="steps-mid", label=f"{label} (n={len(values)})"
            )
    axes.set_xlim(0, 100)
    _figures.label(figure, axes, title, xlabel, ylabel)
    return figure


def plot_return_cdfs(
    groups: Mapping[str, Sequence[float]],
    path: str | Path,
    *,
    title: str = "Return distribution per setting group",
    xlabel: str = "Percentile",
    ylabel: str = "Return",
) -> Path:
    """Returns against percentile (an inverse CDF), one line per group.

    Args:
        groups: label -> returns (any order).
        path: the PNG to write.
    """
    return _figures.save(draw_return_cdfs(groups, title=title, xlabel=xlabel, ylabel=ylabel), path)


def _percentile_grid(setting_cdfs: Sequence[Sequence[float]], points: int = 21):
    import numpy as np

    ordered = sorted((sorted(map(float, cdf)) for cdf in setting_cdfs if len(cdf)), key=statistics.fmean)
    if not ordered:
        raise ValueError("no setting has any return")
    percentiles = np.linspace(0, 100, points)
    grid = np.array([np.percentile(values, percentiles) for values in ordered])
    return grid, percentiles


def draw_setting_percentile_surface(
    setting_cdfs: Sequence[Sequence[float]],
    *,
    title: str = "Return by setting and percentile",
    zlabel: str = "Return",
):
    """The surface and contour figures of `plot_setting_percentile_surface`.

    The colour scale is a colorbar; the only legend entry is the contour's
    median line, which is drawn.
    """
    import numpy as np
    from matplotlib.lines import Line2D

    grid, percentiles = _percentile_grid(setting_cdfs)
    ranks = np.arange(grid.shape[0])
    x, y = np.meshgrid(ranks, percentiles, indexing="ij")
    xlabel = f"Setting rank by mean return (of {grid.shape[0]})"

    surface_figure, axes = _figures.figure("3d")
    if grid.shape[0] > 1:
        surface = axes.plot_surface(x, y, grid, cmap="viridis", linewidth=0, antialiased=True)
        surface_figure.colorbar(surface, ax=axes, shrink=0.6, pad=0.1, label=zlabel)
    else:
        axes.plot(x[0], y[0], grid[0], color="C0")
    axes.set_title(title)
    axes.set_xlabel(xlabel)
    axes.set_ylabel("Percentile")
    axes.set_zlabel(zlabel)
    _figures.integer_ticks(axes.xaxis)

    contour_figure, axes = _figures.figure()
    if grid.shape[0] > 1:
        filled = axes.contourf(x, y, grid, levels=12, cmap="viridis")
        contour_figure.colorbar(filled, ax=axes, label=zlabel)
    else:
        points = axes.scatter(x[0], y[0], c=grid[0], cmap="viridis")
        contour_figure.colorbar(points, ax=axes, label=zlabel)
    median = grid[:, len(percentiles) // 2]
    axes.plot(
        ranks,
        np.full_like(ranks, 50, dtype=float),
        color="white",
        linestyle="--",
        label=f"median (best {median.max():.4g})",
    )
    first, _, rest = title.partition("\n")
    axes.set_title(f"{first} (contour)" + (f"\n{rest}" if rest else ""))
    axes.set_xlabel(xlabel)
    axes.set_ylabel("Percentile")
    _figures.integer_ticks(axes.xaxis)
    # The white line shows on a grey legend; nothing else is listed.
    _figures.legend_outside(
        axes,
        below=True,
        facecolor="lightgray",
        handles=[Line2D([], [], color="white", linestyle="--")],
        labels=[f"median (best {median.max():.4g})"],
    )
    return surface_figure, contour_figure


def plot_setting_percentile_surface(
    setting_cdfs: Sequence[Sequence[float]],
    path: str | Path,
    *,
    title: str = "Return by setting and percentile",
    zlabel: str = "Return",
) -> list[Path]:
    """The setting-percentile return surface, and its contour.

    The settings are ranked by their mean return (x axis); for each, the
    percentiles of its returns (y axis) give the return (z axis, colour).

    Args:
        setting_cdfs: per setting, its returns (over seeds or episodes).
        path: the surface PNG; the contour goes beside it as ``<stem>_contour.png``.

    Returns:
        The two paths written: surface, contour.
    """
    path = Path(path)
    surface, contour = draw_setting_percentile_surface(setting_cdfs, title=title, zlabel=zlabel)
    return [
        _figures.save(surface, path),
        _figures.save(contour, path.with_name(f"{path.stem}_contour{path.suffix or '.png'}")),
    ]


def draw_setting_samples(
    groups: Mapping[str, Sequence[tuple[float, float]]],
    *,
    best: Mapping[str, tuple[float, float]] | None = None,
    title: str = "Return by hyperparameter value",
    xlabel: str = "Hyperparameter value",
    ylabel: str = "Return",
    log_x: bool | None = None,
):
    """The figure of `plot_setting_samples`."""
    figure, axes = _figures.figure()
    all_x: list[float] = []
    for index, (label, points) in enumerate(groups.items()):
        points = [(float(x), float(y)) for x, y in points]
        if not points:
            continue
        colour = f"C{index % 10}"
        xs, ys = zip(*points)
        all_x += xs
        axes.scatter(xs, ys, s=18, alpha=0.6, color=colour, label=f"{label} samples")
        mark = (best or {}).get(label) or max(points, key=lambda point: point[1])
        axes.scatter(
            [mark[0]],
            [mark[1]],
            s=260,
            marker="*",
            color=colour,
            edgecolors="black",
            zorder=3,
            label=f"{label} best ({mark[0]:.4g})",
        )
    if log_x is None:
        log_x = bool(all_x) and min(all_x) > 0 and max(all_x) / min(all_x) >= 20
    if log_x and all_x and min(all_x) > 0:
        axes.set_xscale("log")
    _figures.label(figure, axes, title, xlabel, ylabel)
    return figure


def plot_setting_samples(
    groups: Mapping[str, Sequence[tuple[float, float]]],
    path: str | Path,
    *,
    best: Mapping[str, tuple[float, float]] | None = None,
    title: str = "Return by hyperparameter value",
    xlabel: str = "Hyperparameter value",
    ylabel: str = "Return",
    log_x: bool | None = None,
) -> Path:
    """A scatter of (hyperparameter value, return) samples, one colour per
    group, with each group's best sample marked by a star.

    Args:
        groups: label -> [(value, return), …].
        best: label -> (value, return) to mark; default: each group's sample
            with the highest return.
        log_x: log-scale the x axis: True for a hyperparameter sampled on a
            log scale (``log_scaled`` of its space says which); default
            when all values are positive and span a factor of 20 or more.
    """
    figure = draw_setting_samples(groups, best=best, title=title, xlabel=xlabel, ylabel=ylabel, log_x=log_x)
    return _figures.save(figure, path)


def draw_search_curves(
    curves: Mapping[str, Mapping[str, Sequence[float]]],
    *,
    title: str = "Simulated random search (bootstrapped)",
    xlabel: str = "Settings sampled",
    ylabel: str = "True mean return of the setting found",
    reference: Mapping[str, float] | None = None,
):
    """The figure of `plot_search_curves`."""
    figure, axes = _figures.figure()
    for index, (label, curve) in enumerate(curves.items()):
        colour = f"C{index % 10}"
        axes.plot(curve["x"], curve["mean"], marker="o", markersize=4, color=colour, label=f"{label}: mean")
        # A light band with its edges drawn: where bands overlap, both edges stay visible.
        axes.fill_between(
            curve["x"],
            curve["low"],
            curve["high"],
            color=colour,
            alpha=0.12,
            linewidth=0,
            label=f"{label}: 10-90th percentile",
        )
        for edge in ("low", "high"):
            axes.plot(curve["x"], curve[edge], color=colour, linestyle="--", linewidth=0.8, alpha=0.8)
    for index, (label, value) in enumerate((reference or {}).items()):
        axes.axhline(value, color="gray", linestyle=[":", "--", "-."][index % 3], label=label)
    _figures.integer_ticks(axes.xaxis)
    _figures.label(figure, axes, title, xlabel, ylabel)
    return figure


def plot_search_curves(
    curves: Mapping[str, Mapping[str, Sequence[float]]],
    path: str | Path,
    *,
    title: str = "Simulated random search (bootstrapped)",
    xlabel: str = "Settings sampled",
    ylabel: str = "True mean return of the setting found",
    reference: Mapping[str, float] | None = None,
) -> Path:
    """Bootstrapped random-search curves: the mean (line) and a percentile
    band (shaded, edges dashed) of what a search of each size finds.

    Args:
        curves: label -> ``{"x", "mean", "low", "high"}`` (see ``search_curve``).
        reference: label -> a horizontal line (e.g. the best setting's mean).
    """
    figure = draw_search_curves(curves, title=title, xlabel=xlabel, ylabel=ylabel, reference=reference)
    return _figures.save(figure, path)


def draw_value_grid(
    points: Sequence[tuple[Mapping[str, float], float]],
    dims: tuple[str, str],
    *,
    title: str = "Mean return",
    zlabel: str = "Mean return",
):
    """The figure of `plot_value_grid`."""
    from matplotlib.lines import Line2D

    xs = [float(setting[dims[0]]) for setting, _ in points]
    ys = [float(setting[dims[1]]) for setting, _ in points]
    zs = [float(value) for _, value in points]
    if not zs:
        raise ValueError("no points to plot")
    figure, axes = _figures.figure()
    if len(set(xs)) > 1 and len(set(ys)) > 1 and all(math.isfinite(z) for z in zs):
        filled = axes.tricontourf(xs, ys, zs, levels=12, cmap="viridis")
        figure.colorbar(filled, ax=axes, label=zlabel)
    axes.scatter(xs, ys, c=zs, cmap="viridis", edgecolors="black", s=20)
    best = max(range(len(zs)), key=zs.__getitem__)
    axes.scatter([xs[best]], [ys[best]], marker="*", s=260, color="red", edgecolors="black", zorder=3)
    axes.set_title(title)
    axes.set_xlabel(dims[0])
    axes.set_ylabel(dims[1])
    for values, axis, limits in ((xs, axes.xaxis, axes.set_xlim), (ys, axes.yaxis, axes.set_ylim)):
        if all(float(v).is_integer() for v in values):  # counts: settings, runs
            _figures.integer_ticks(axis)
        # A margin, so that points (and the best one's star) on the edges show whole.
        pad = 0.04 * ((max(values) - min(values)) or 1.0)
        limits(min(values) - pad, max(values) + pad)
    _figures.legend_outside(
        axes,
        below=True,
        handles=[
            Line2D([], [], marker="o", linestyle="", color="gray", label="evaluated"),
            Line2D([], [], marker="*", linestyle="", color="red", markersize=14, label=f"best: {zs[best]:.4g}"),
        ],
    )
    return figure


def plot_value_grid(
    points: Sequence[tuple[Mapping[str, float], float]],
    dims: tuple[str, str],
    path: str | Path,
    *,
    title: str = "Mean return",
    zlabel: str = "Mean return",
) -> Path:
    """A value over two numeric dimensions (e.g. settings sampled × runs per
    setting): filled contour when the points span a grid, with the points
    and the best one marked.

    Args:
        points: [({dims[0]: x, dims[1]: y, …}, value), …].
        dims: the two keys to plot.
    """
    return _figures.save(draw_value_grid(points, dims, title=title, zlabel=zlabel), path)
