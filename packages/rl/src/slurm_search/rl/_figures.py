"""What every plot shares: a headless figure, labels, legends outside the axes, integer ticks, saving.

matplotlib is imported on the first figure, not with the package.
"""

from __future__ import annotations

import logging
from pathlib import Path

logger = logging.getLogger(__name__)


def figure(projection: str | None = None):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if projection == "3d":
        import mpl_toolkits.mplot3d  # noqa: F401  (registers the 3d projection)
    figure = Figure(figsize=(8, 6), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(projection=projection)
    return figure, axes


def label(figure, axes, title: str, xlabel: str, ylabel: str) -> None:
    """Every plot's title, axis labels, grid and (outside) legend."""
    axes.set_title(title)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3)
    legend_outside(axes)


def legend_outside(axes, *, below: bool = False, **kwargs):
    """The legend outside the axes, so that it never covers data: right of
    them, top-aligned, or (``below``, for a plot whose right holds a
    colorbar) under the x label."""
    if "handles" not in kwargs and not axes.get_legend_handles_labels()[0]:
        return None
    if below:
        place = {"loc": "upper center", "bbox_to_anchor": (0.5, -0.12), "ncol": 2}
    else:
        place = {"loc": "upper left", "bbox_to_anchor": (1.02, 1.0)}
    return axes.legend(borderaxespad=0.0, fontsize="small", **place, **kwargs)


def integer_ticks(axis) -> None:
    """Ticks at whole numbers only (an axis of counts)."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def save(figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    # bbox_inches="tight": the file holds the legends outside the axes.
    figure.savefig(path, format="png", bbox_inches="tight")
    logger.info("wrote %s", path)
    return path


def percentiles(count: int) -> list[float]:
    # The i-th of n sorted values sits at percentile 100 * (i + 0.5) / n.
    return [100.0 * (index + 0.5) / count for index in range(count)]
