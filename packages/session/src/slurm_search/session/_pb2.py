"""PB2's explore step: new values chosen by a GP bandit on what the population learnt so far.

Population Based Bandits (Parker-Holder et al. 2020) keeps PBT's exploit and
replaces its random explore: a Gaussian process models the improvement of a
member over one interval as a function of (the step, its hyperparameters),
fitted on every interval that every member trained so far, and the new
values are those with the highest upper confidence bound at the current step.
Here (`pbt_options={"explore": "pb2"}`):

* Data, from the log alone: for each member and each interval (s - interval,
  s] that its reports cover at both ends, x = (s, the vals in effect over
  it, from the member's schedule, each scaled to [0, 1] within the space's
  bounds: log-scaled for `loguniform`), y = the decrease of its loss over
  the interval (its improvement). The y are standardised.
* Kernel: squared exponential on x (lengthscale `LENGTHSCALE`), times
  (1 - `EPSILON`)^(|s - s'| / interval / 2) over time (the time-varying
  kernel of the paper, with its epsilon fixed instead of fitted; the paper
  and Ray fit the kernel's parameters by maximum likelihood: not done here,
  to keep the decision a cheap pure function). Noise variance `NOISE`.
* Acquisition: UCB, mean + sqrt(`BETA`) * std at the current step, over
  `CANDIDATES` points drawn uniformly in the bounds (seeded from seed, tid,
  step) plus the values that trained the donor's checkpoint; choices and
  integers are rounded. With fewer than two intervals of data it falls back
  to PBT's perturbation.
* PB2 needs every hyperparameter bounded (uniform, quniform, loguniform,
  qloguniform, randint, choice): checked when the session is created.

Not Ray's PB2: no batch-aware penalty for members exploring at the same
time (each decision is taken alone, asynchronously), no fitted kernel.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._errors import InvalidSpace
from ._pbt import schedule
from ._pbt_explore import Bound, bounds_of
from ._pruners import trial_values

__all__ = ["BETA", "CANDIDATES", "check_bounded", "pb2_explore"]

LENGTHSCALE = 0.3
EPSILON = 0.1
NOISE = 0.1
BETA = 4.0
CANDIDATES = 256


def check_bounded(domain: Any) -> None:
    """Refuse a space with an unbounded hyperparameter (PB2 searches within bounds).

    Raises:
        InvalidSpace: a label whose distribution has no literal bounds.
    """
    free = sorted(label for label, bound in bounds_of(domain).items() if bound.kind == "free")
    if free:
        raise InvalidSpace(
            f"pb2 needs bounded hyperparameters, but {', '.join(free)} have none: use uniform, "
            "quniform, loguniform, qloguniform, randint or choice, or explore=perturb"
        )


def _scale(value: float, bound: Bound) -> float:
    low, high = bound.low, bound.high
    if bound.log and low > 0:
        low, high, value = math.log(low), math.log(high), math.log(max(value, bound.low))
    return 0.0 if high == low else (float(value) - low) / (high - low)


def _unscale(x: float, bound: Bound) -> Any:
    low, high = bound.low, bound.high
    if bound.log and low > 0:
        value = math.exp(math.log(low) + x * (math.log(high) - math.log(low)))
    else:
        value = low + x * (high - low)
    value = min(max(value, bound.low), bound.high)
    if bound.kind in ("int", "choice"):
        return int(round(value))
    if bound.q:
        return float(round(value / bound.q) * bound.q)
    return float(value)


def _features(vals: dict, labels: list[str], bounds: dict[str, Bound]) -> list[float] | None:
    out = []
    for label in labels:
        value = vals.get(label)
        if not value:
            return None
        out.append(_scale(float(value[0]), bounds[label]))
    return out


def _data(state: Any, labels: list[str], bounds: dict[str, Bound], interval: int) -> tuple[list, list]:
    """(x, y): each member's improvement over each interval its reports cover, and what it trained with."""
    xs, ys = [], []
    for tid in sorted(state.trials):
        values = trial_values(state, tid)
        entries = schedule(state, tid)
        for s in sorted(values):
            if s % interval or (s - interval) not in values:
                continue
            in_effect = [vals for start, vals in entries if start <= s - interval]
            if not in_effect:
                continue
            x = _features(in_effect[-1], labels, bounds)
            if x is None:
                continue
            xs.append([float(s), *x])
            ys.append(values[s - interval] - values[s])  # the loss's decrease: the improvement
    return xs, ys


def _kernel(a: np.ndarray, b: np.ndarray, interval: int) -> np.ndarray:
    space = ((a[:, None, 1:] - b[None, :, 1:]) ** 2).sum(-1)
    time = np.abs(a[:, None, 0] - b[None, :, 0]) / interval
    return np.exp(-space / (2 * LENGTHSCALE**2)) * (1 - EPSILON) ** (time / 2)


def pb2_explore(state: Any, domain: Any, donor_vals: dict, tid: int, step: int) -> dict | None:
    """PB2's new vals for member `tid` at `step` (None: too little data; explore as PBT does).

    Args:
        state: the session's state (the log so far).
        domain: the session's compiled hyperopt Domain.
        donor_vals: the values that trained the donor's checkpoint (a candidate too).
        tid: the exploiting member.
        step: the step it exploits at.
    """
    options = state.spec.pbt
    interval = options["interval"]
    bounds = bounds_of(domain)
    labels = sorted(label for label in donor_vals if donor_vals[label])
    xs, ys = _data(state, labels, bounds, interval)
    if len(ys) < 2:
        return None
    x = np.asarray(xs, dtype=float)
    y = np.asarray(ys, dtype=float)
    y = (y - y.mean()) / (y.std() or 1.0)
    rng = np.random.default_rng([state.spec.seed, tid, step, 2])
    donor = _features(donor_vals, labels, bounds)
    candidates = rng.random((CANDIDATES, len(labels)))
    if donor is not None:
        candidates = np.vstack([np.asarray([donor]), candidates])
    at = np.hstack([np.full((len(candidates), 1), float(step)), candidates])
    k = _kernel(x, x, interval) + NOISE * np.eye(len(x))
    k_star = _kernel(at, x, interval)
    try:
        chol = np.linalg.cholesky(k)
    except np.linalg.LinAlgError:
        return None
    alpha = np.linalg.solve(chol.T, np.linalg.solve(chol, y))
    mean = k_star @ alpha
    v = np.linalg.solve(chol, k_star.T)
    var = np.clip(1.0 - (v**2).sum(0), 1e-12, None)
    best = int(np.argmax(mean + math.sqrt(BETA) * np.sqrt(var)))
    new = dict(donor_vals)
    for i, label in enumerate(labels):
        new[label] = [_unscale(float(candidates[best, i]), bounds[label])]
    return new
