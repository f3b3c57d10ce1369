"""The optimisation history of a search: each trial's value and the best so far (see `_plots` for the conventions)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from . import _figures

__all__ = ["draw_optimisation_history", "plot_optimisation_history"]


def draw_optimisation_history(
    values: Sequence[tuple[int, float]],
    *,
    maximize: bool = True,
    title: str = "Optimisation history",
    xlabel: str = "Trial",
    ylabel: str = "Mean return",
    pruned: Sequence[tuple[int, float]] = (),
):
    """The figure of `plot_optimisation_history`."""
    points = sorted((int(trial), float(value)) for trial, value in values if math.isfinite(float(value)))
    stopped = sorted((int(trial), float(value)) for trial, value in pruned if math.isfinite(float(value)))
    figure, axes = _figures.figure()
    if stopped:
        trials, ys = zip(*stopped)
        axes.scatter(trials, ys, s=22, marker="x", color="0.45", label=f"pruned, at its last report ({len(stopped)})")
    if points:
        trials, ys = zip(*points)
        axes.scatter(trials, ys, s=18, alpha=0.7, color="C0", label="each trial")
        pick = max if maximize else min
        running, best_so_far = None, []
        for y in ys:
            running = y if running is None else pick(running, y)
            best_so_far.append(running)
        axes.step(
            trials,
            best_so_far,
            where="post",
            color="C3",
            linewidth=1.8,
            label=f"best so far ({'highest' if maximize else 'lowest'}: {best_so_far[-1]:.4g})",
        )
    _figures.integer_ticks(axes.xaxis)
    _figures.label(figure, axes, title, xlabel, ylabel)
    return figure


def plot_optimisation_history(
    values: Sequence[tuple[int, float]],
    path: str | Path,
    *,
    maximize: bool = True,
    title: str = "Optimisation history",
    xlabel: str = "Trial",
    ylabel: str = "Mean return",
    pruned: Sequence[tuple[int, float]] = (),
) -> Path:
    """Each trial's value in the order the search ran them, and the best so far.

    Args:
        values: [(trial number, value), …]; non-finite values are left out.
        maximize: the best is the highest value (returns); False: the lowest (losses).
        pruned: [(trial number, last reported value), …] of pruned trials,
            drawn apart (grey crosses) and never counted as the best.
    """
    figure = draw_optimisation_history(
        values, maximize=maximize, title=title, xlabel=xlabel, ylabel=ylabel, pruned=pruned
    )
    return _figures.save(figure, path)
