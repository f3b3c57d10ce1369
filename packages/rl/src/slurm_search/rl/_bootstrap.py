"""What a random search would have found, simulated by resampling one large
sample of (setting, run returns): pure functions of plain lists and a seed.

A simulated search draws ``settings`` settings (with replacement), gives each
``runs`` of its run returns (resampled with replacement), keeps the setting
whose drawn runs have the best mean, and scores it by the mean of *all* its
runs (the best estimate of how good it really is). Repeating it ``trials``
times shows what tuning with that budget finds, and how reliably.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

__all__ = ["noise_ratio", "search_curve", "simulate_search", "spaced_values"]


def _check(setting_returns: Sequence[Sequence[float]]) -> None:
    if not setting_returns or any(len(returns) == 0 for returns in setting_returns):
        raise ValueError("every setting needs at least one run return")


def simulate_search(
    setting_returns: Sequence[Sequence[float]], settings: int, runs: int, trials: int, seed: int = 0
) -> list[float]:
    """The true mean return of the setting each of ``trials`` simulated
    random searches picks.

    Args:
        setting_returns: per setting, the returns of its runs (one per seed).
        settings: settings each simulated search samples.
        runs: runs per setting each simulated search sees.
        trials: simulated searches.
        seed: seed of the resampling.
    """
    import numpy as np

    _check(setting_returns)
    rng = np.random.default_rng(seed)
    counts = np.array([len(returns) for returns in setting_returns])
    table = np.zeros((len(setting_returns), counts.max()))
    for row, returns in enumerate(setting_returns):
        table[row, : len(returns)] = returns
    true_means = np.array([statistics.fmean(returns) for returns in setting_returns])
    # All draws at once: (trials, settings) setting indices, then
    # (trials, settings, runs) run indices below each setting's run count.
    chosen = rng.integers(0, len(setting_returns), size=(trials, settings))
    runs_drawn = (rng.random((trials, settings, runs)) * counts[chosen][..., None]).astype(int)
    observed = table[chosen[..., None], runs_drawn].mean(axis=2)
    best = chosen[np.arange(trials), observed.argmax(axis=1)]
    return [float(value) for value in true_means[best]]


def search_curve(
    setting_returns: Sequence[Sequence[float]],
    max_settings: int,
    runs: int,
    trials: int = 200,
    seed: int = 0,
    band: tuple[float, float] = (10.0, 90.0),
) -> dict[str, list[float]]:
    """A simulated random-search curve: for 1..``max_settings`` settings
    sampled, the mean and the ``band`` percentiles of the true mean return of
    the setting found.

    Returns:
        ``{"x": [...], "mean": [...], "low": [...], "high": [...]}``.
    """
    import numpy as np

    xs = spaced_values(max_settings, points=min(max_settings, 16), scale=1.0)
    curve: dict[str, list[float]] = {"x": [], "mean": [], "low": [], "high": []}
    for offset, count in enumerate(xs):
        found = np.asarray(simulate_search(setting_returns, count, runs, trials, seed + offset))
        curve["x"].append(float(count))
        curve["mean"].append(float(found.mean()))
        curve["low"].append(float(np.percentile(found, band[0])))
        curve["high"].append(float(np.percentile(found, band[1])))
    return curve


def spaced_values(value: int, points: int = 8, scale: float = 1.25) -> list[int]:
    """About ``points`` distinct integers from 1 to ``value * scale``."""
    top = max(int(value * scale), 1)
    step = max(top // max(points, 1), 1)
    values = list(range(1, top + 1, step))
    if values[-1] != top:
        values.append(top)
    return values


def noise_ratio(setting_returns: Sequence[Sequence[float]]) -> dict[str, float]:
    """How much the seed matters next to the hyperparameters.

    Returns:
        ``trial_std`` (mean over settings of the std of its runs), ``hp_std``
        (std over settings of their mean return) and ``ratio`` =
        trial_std / hp_std (inf when the settings do not differ).
    """
    _check(setting_returns)
    means = [statistics.fmean(returns) for returns in setting_returns]
    trial_std = statistics.fmean(statistics.pstdev(returns) for returns in setting_returns)
    hp_std = statistics.pstdev(means)
    ratio = trial_std / hp_std if hp_std > 0 else float("inf")
    return {"trial_std": trial_std, "hp_std": hp_std, "ratio": ratio}
