"""The experiments' plots: pure functions from plain data (lists, dicts) to
PNG files. Each plot has a title, axis labels and a legend.

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
    "plot_return_cdfs",
    "plot_search_curves",
    "plot_setting_percentile_surface",
    "plot_setting_samples",
    "plot_value_grid",
]

logger = logging.getLogger(__name__)


def _figure(projection: str | None = None):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if projection == "3d":
        import mpl_toolkits.mplot3d  # noqa: F401  (registers the 3d projection)
    figure = Figure(figsize=(8, 6), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(projection=projection)
    return figure, axes


def _finish(figure, axes, path: str | Path, title: str, xlabel: str, ylabel: str) -> Path:
    """Every plot's title, axis labels, grid and legend, then save it."""
    axes.set_title(title)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3)
    axes.legend(loc="best")
    return _save(figure, path)


def _save(figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, format="png")
    logger.info("wrote %s", path)
    return path


def _percentiles(count: int) -> list[float]:
    # The i-th of n sorted values sits at percentile 100 * (i + 0.5) / n.
    return [100.0 * (index + 0.5) / count for index in range(count)]


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
    figure, axes = _figure()
    for label, values in groups.items():
        values = sorted(float(v) for v in values)
        if values:
            axes.plot(_percentiles(len(values)), values, drawstyle="steps-mid", label=f"{label} (n={len(values)})")
    axes.set_title(title)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_xlim(0, 100)
    axes.grid(alpha=0.3)
    axes.legend(loc="best")
    return _save(figure, path)


def _percentile_grid(setting_cdfs: Sequence[Sequence[float]], points: int = 21):
    import numpy as np

    ordered = sorted((sorted(map(float, cdf)) for cdf in setting_cdfs if len(cdf)), key=statistics.fmean)
    if not ordered:
        raise ValueError("no setting has any return")
    percentiles = np.linspace(0, 100, points)
    grid = np.array([np.percentile(values, percentiles) for values in ordered])
    return grid, percentiles


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
    import numpy as np
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    grid, percentiles = _percentile_grid(setting_cdfs)
    ranks = np.arange(grid.shape[0])
    x, y = np.meshgrid(ranks, percentiles, indexing="ij")
    path = Path(path)
    written = []

    figure, axes = _figure("3d")
    if grid.shape[0] > 1:
        axes.plot_surface(x, y, grid, cmap="viridis", linewidth=0, antialiased=True)
    else:
        axes.plot(x[0], y[0], grid[0], color="C0")
    axes.set_title(title)
    axes.set_xlabel("Setting rank (by mean return)")
    axes.set_ylabel("Percentile")
    axes.set_zlabel(zlabel)
    axes.legend(handles=[Patch(color="tab:green", label=f"{zlabel} of {grid.shape[0]} settings")], loc="upper left")
    written.append(_save(figure, path))

    figure, axes = _figure()
    if grid.shape[0] > 1:
        filled = axes.contourf(x, y, grid, levels=12, cmap="viridis")
        figure.colorbar(filled, ax=axes, label=zlabel)
    else:
        axes.scatter(x[0], y[0], c=grid[0], cmap="viridis")
    median = grid[:, len(percentiles) // 2]
    axes.plot(ranks, np.full_like(ranks, 50, dtype=float), color="white", linestyle="--")
    axes.set_title(f"{title} (contour)")
    axes.set_xlabel("Setting rank (by mean return)")
    axes.set_ylabel("Percentile")
    axes.legend(
        handles=[
            Patch(color="tab:green", label=zlabel),
            Line2D([], [], color="white", linestyle="--", label=f"median (best {median.max():.4g})"),
        ],
        loc="upper left",
        facecolor="lightgray",
    )
    written.append(_save(figure, path.with_name(f"{path.stem}_contour{path.suffix or '.png'}")))
    return written


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
        log_x: log-scale the x axis; default when all values are positive and
            span a factor of 20 or more (learning rates).
    """
    figure, axes = _figure()
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
            [mark[0]], [mark[1]], s=260, marker="*", color=colour, edgecolors="black", zorder=3, label=f"{label} best ({mark[0]:.4g})"
        )
    if log_x is None:
        log_x = bool(all_x) and min(all_x) > 0 and max(all_x) / min(all_x) >= 20
    if log_x:
        axes.set_xscale("log")
    return _finish(figure, axes, path, title, xlabel, ylabel)


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
    band (shaded) of what a search of each size finds.

    Args:
        curves: label -> ``{"x", "mean", "low", "high"}`` (see ``search_curve``).
        reference: label -> a horizontal line (e.g. the best setting's mean).
    """
    figure, axes = _figure()
    for index, (label, curve) in enumerate(curves.items()):
        colour = f"C{index % 10}"
        axes.plot(curve["x"], curve["mean"], marker="o", color=colour, label=f"{label}: mean")
        axes.fill_between(curve["x"], curve["low"], curve["high"], color=colour, alpha=0.2, label=f"{label}: 10-90th percentile")
    for index, (label, value) in enumerate((reference or {}).items()):
        axes.axhline(value, color="gray", linestyle=[":", "--", "-."][index % 3], label=label)
    return _finish(figure, axes, path, title, xlabel, ylabel)


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
    from matplotlib.lines import Line2D

    xs = [float(setting[dims[0]]) for setting, _ in points]
    ys = [float(setting[dims[1]]) for setting, _ in points]
    zs = [float(value) for _, value in points]
    if not zs:
        raise ValueError("no points to plot")
    figure, axes = _figure()
    if len(set(xs)) > 1 and len(set(ys)) > 1 and all(math.isfinite(z) for z in zs):
        filled = axes.tricontourf(xs, ys, zs, levels=12, cmap="viridis")
        figure.colorbar(filled, ax=axes, label=zlabel)
    axes.scatter(xs, ys, c=zs, cmap="viridis", edgecolors="black", s=20)
    best = max(range(len(zs)), key=zs.__getitem__)
    axes.scatter([xs[best]], [ys[best]], marker="*", s=260, color="red", edgecolors="black", zorder=3)
    axes.set_title(title)
    axes.set_xlabel(dims[0])
    axes.set_ylabel(dims[1])
    axes.legend(
        handles=[
            Line2D([], [], marker="o", linestyle="", color="gray", label="evaluated"),
            Line2D([], [], marker="*", linestyle="", color="red", markersize=14, label=f"best: {zs[best]:.4g}"),
        ],
        loc="best",
    )
    return _save(figure, path)
