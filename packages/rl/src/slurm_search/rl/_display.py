"""Shared pieces of the experiments' display functions: where plots go,
how settings print, and the standard set of plots of one tuning sample."""

from __future__ import annotations

import logging
import math
import numbers
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from slurm_search.dsl import run_dir

from ._bootstrap import noise_ratio, search_curve
from ._history_plot import plot_optimisation_history
from ._plots import (
    plot_return_cdfs,
    plot_search_curves,
    plot_setting_percentile_surface,
    plot_setting_samples,
)
from ._scales import log_scaled

__all__ = ["format_setting", "history_plots", "plots_dir", "report_paths", "run_title", "setting_plots"]

logger = logging.getLogger(__name__)


def plots_dir(session_name: str) -> Path:
    """``<home>/exp/<name>/plots``: the experiment's plots."""
    return run_dir(session_name) / "plots"


def short_name(session_name: str) -> str:
    return session_name.split(":", 1)[-1]


def run_title(params: Mapping[str, Any]) -> str:
    """What a plot's reader needs to know of the run: ``classic:a2c on
    classic:CartPole-v1, 100,000 training frames`` (agents and environments
    joined when an experiment enumerates them)."""

    def names(one: str, many: str) -> str:
        if params.get(one) is not None:
            return str(params[one])
        return ", ".join(map(str, params.get(many) or [])) or "?"

    title = f"{names('agent', 'agent_space')} on {names('env', 'env_space')}"
    frames = (params.get("run") or {}).get("train_frames")
    if isinstance(frames, numbers.Real) and math.isfinite(frames):
        title += f", {int(float(frames)):,} training frames"
    return title


def format_setting(setting: Any) -> str:
    """``lr=0.00123 entropy_loss_scaling=0.0456`` for a dict, repr otherwise."""
    if isinstance(setting, Mapping):
        return " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in sorted(setting.items()))
    return str(setting)


def mean_std(values: Sequence[float]) -> str:
    n = len(values)
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / n)
    return f"{mean:.4g} ± {std:.3g} (n={n})"


def report_paths(paths: Sequence[Path]) -> list[Path]:
    """Print each plot's path (what the user looks for after a run)."""
    for path in paths:
        print(f"plot: {path}")
    return list(paths)


def numeric_dims(settings: Sequence[Any]) -> list[str]:
    """The keys whose values are numbers in every (dict) setting."""
    dicts = [s for s in settings if isinstance(s, Mapping)]
    if not dicts or len(dicts) != len(settings):
        return []
    keys = set.intersection(*(set(d) for d in dicts))
    return sorted(
        key for key in keys if all(isinstance(d[key], numbers.Real) and not isinstance(d[key], bool) for d in dicts)
    )


def setting_plots(
    folder: Path,
    setting_cdfs: Sequence[tuple[Any, Sequence[float]]],
    *,
    label: str,
    best: Any = None,
    extra_cdfs: Mapping[str, Sequence[float]] | None = None,
    space: Any = None,
) -> list[Path]:
    """The standard plots of one tuning sample ``[(setting, returns over seeds), …]``:
    return CDFs, setting-percentile surface and contour, (setting value, mean
    return) samples with the best marked, bootstrapped random-search curves.

    ``label`` is the second line of every title (`run_title`); ``space`` the
    hyperopt space the settings were drawn from (its log-scaled dimensions
    get a log axis).
    """
    settings = [setting for setting, _ in setting_cdfs]
    runs = [list(map(float, values)) for _, values in setting_cdfs]
    means = [sum(values) / len(values) for values in runs]
    paths: list[Path] = []

    groups = dict(extra_cdfs or {})
    groups["mean return of each setting"] = means
    paths.append(plot_return_cdfs(groups, folder / "return_cdfs.png", title=f"Return distributions\n{label}"))

    paths += plot_setting_percentile_surface(
        runs,
        folder / "setting_percentile_return.png",
        title=f"Return by setting and seed percentile\n{label}",
        zlabel="Mean test return",
    )
    log_dims = log_scaled(space)

    if best is None:
        best = settings[max(range(len(means)), key=means.__getitem__)]
    best_mean = next((m for s, m in zip(settings, means) if s == best), max(means))
    for dim in numeric_dims(settings):
        points = [(setting[dim], mean) for setting, mean in zip(settings, means)]
        mark = {dim: (best[dim], best_mean)} if isinstance(best, Mapping) and dim in best else None
        paths.append(
            plot_setting_samples(
                {dim: points},
                folder / f"setting_samples_{dim}.png",
                best=mark,
                title=f"Mean return over seeds by {dim}\n{label}",
                xlabel=f"{dim} (log scale)" if dim in log_dims else dim,
                ylabel="Mean test return over seeds",
                log_x=dim in log_dims if space is not None else None,
            )
        )

    per_setting = max(len(values) for values in runs)
    curves = {
        f"{r} run{'s' if r > 1 else ''} per setting": search_curve(
            runs, max_settings=len(runs), runs=r, trials=200, seed=r
        )
        for r in sorted({1, per_setting})
    }
    paths.append(
        plot_search_curves(
            curves,
            folder / "random_search_curves.png",
            title=f"Simulated random search, bootstrapped\n{label}",
            reference={"best setting found": best_mean, "mean over settings": sum(means) / len(means)},
        )
    )
    return paths


def _trial_value(result: Mapping[str, Any]) -> float | None:
    """What a hyperparameter search's trial found: the mean return over seeds
    (the measured inner result's ``mean``), or the inner value if a number."""
    value = result.get("value")
    if isinstance(value, Mapping):
        value = value.get("mean")
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    return None


def history_plots(session_name: str, var: str = "hp") -> list[Path]:
    """An optimisation history (each trial's mean return, and the best so far)
    of every search of the run over ``var`` (the hyperparameters), into
    ``plots/history_<AST path>.png``. Each title names the search's place in
    the experiment and the agent, environment and frames it ran with.
    """
    import re

    from slurm_search import session
    from slurm_search.dsl import show_experiment

    folder = plots_dir(session_name)
    paths = []
    for where, sub, _ in show_experiment(session_name)["sessions"]:
        try:
            info = session.info(sub)
            if info.metadata.get("var") != var:
                continue
            node_context = session.context(sub)
            node_params = getattr(node_context, "node_params", None) or {}
            values = [(r.tid, _trial_value(r.result)) for r in session.results(sub)]
            # The node's sign says which way it optimised (-1: maximising, its loss
            # minus the value), in logs written before sessions recorded a goal too.
            sign = getattr(node_context, "sign", -1) or 1
            # A pruned setting's value is its last report, in the objective's sign.
            pruned = [
                (row.tid, sign * row.loss)
                for row in session.trial_rows(sub)
                if row.state == "pruned" and row.loss is not None
            ]
        except session.SessionError as err:  # a damaged sub-session: its plot is left out
            logger.warning("no optimisation history of %s: %s", sub, err)
            continue
        finished = [(tid, float(value)) for tid, value in values if value is not None]
        if not finished:
            continue
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", where)
        paths.append(
            plot_optimisation_history(
                finished,
                folder / f"history_{stem}.png",
                maximize=sign < 0,
                title=(
                    f"Optimisation history of {where} ({info.algo}, {len(values)} trials)\n"
                    f"{run_title(node_params)}"
                ),
                ylabel="Mean test return over seeds",
                pruned=pruned,
            )
        )
    return paths


def print_noise(setting_cdfs: Sequence[tuple[Any, Sequence[float]]]) -> dict[str, float]:
    ratio = noise_ratio([list(values) for _, values in setting_cdfs])
    print(f"trial std / hyperparameter std: {ratio['trial_std']:.4g} / {ratio['hp_std']:.4g} = {ratio['ratio']:.3g}")
    return ratio
