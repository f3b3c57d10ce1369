"""Multi-objective sessions: an objective that returns several values, each with its direction.

A session created with `directions=["min", "max", ...]` (two or more, each
exactly `min` or `max`) runs an objective that returns as many values, in
their own sign, as Optuna's do: a list or tuple of finite numbers, or a
dict with such a list under `values` (any other keys are kept). The trial's
result then holds `values` (as returned), `losses` (each value to minimise:
the value, or minus it for `max`) and `loss` (the first of `losses`: what
hyperopt's tools and the one-loss listings read; the session's goal is the
first direction).

Only Optuna's samplers that handle several objectives search them:
`optuna:NSGAIISampler`, `optuna:TPESampler`, `optuna:GPSampler`,
`optuna:RandomSampler`, `optuna:QMCSampler`. hyperopt's algorithms, CMA-ES
and the pruners refuse them in one line. The best trials are the Pareto
front: the ok trials no other ok trial dominates (`pareto_front`).
Pure functions, but `pareto_front`, which reads a session.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from ._errors import InvalidResult, InvalidSetting

__all__ = ["DIRECTIONS", "MULTI_ALGOS", "check_directions", "multi_result", "pareto_front"]

DIRECTIONS = ("min", "max")
MULTI_ALGOS = (
    "optuna:NSGAIISampler", "optuna:TPESampler", "optuna:GPSampler", "optuna:RandomSampler", "optuna:QMCSampler",
)


def check_directions(directions: Any, algo: str, pruner: str | None) -> tuple[str, ...] | None:
    """`directions` as a tuple, if a multi-objective session can have them with `algo`; None for None.

    Raises:
        InvalidSetting: not a list of two or more `min`/`max`, an algorithm
            that optimises one loss, or a pruner.
    """
    if directions is None:
        return None
    if (
        isinstance(directions, (str, bytes))
        or not isinstance(directions, (list, tuple))
        or len(directions) < 2
        or any(not isinstance(d, str) or d not in DIRECTIONS for d in directions)
    ):
        raise InvalidSetting("directions", directions, "a list of two or more of min, max (one per value)")
    if algo not in MULTI_ALGOS:
        raise InvalidSetting(
            "algo", algo, f"{', '.join(MULTI_ALGOS)} for a multi-objective session (directions=[...]): "
            "hyperopt's algorithms and CMA-ES optimise one loss",
        )
    if pruner is not None:
        raise InvalidSetting("pruner", pruner, "none for a multi-objective session (Optuna does not prune those)")
    return tuple(directions)


def _finite(value: Any) -> float | None:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        x = float(value)
        return x if math.isfinite(x) else None
    return None


def multi_result(value: Any, directions: tuple[str, ...]) -> dict:
    """A multi-objective objective's return value as a result dict (values, losses, loss).

    Raises:
        InvalidResult: not as many finite numbers as there are directions.
    """
    result: dict[str, Any] = {}
    values = value
    if isinstance(value, dict):
        result = dict(value)
        values = result.get("values")
    if not isinstance(values, (list, tuple)) or len(values) != len(directions):
        raise InvalidResult(value, f"return {len(directions)} values (one per direction: {list(directions)})")
    floats = [_finite(v) for v in values]
    if any(v is None for v in floats):
        raise InvalidResult(value, f"return {len(directions)} finite numbers")
    losses = [v if d == "min" else -v for v, d in zip(floats, directions)]  # type: ignore[operator]
    result.update(values=floats, losses=losses, loss=losses[0], status="ok")
    return result


def dominates(a: list[float], b: list[float]) -> bool:
    """Whether losses `a` dominate `b`: no worse in each, better in one."""
    return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))


def pareto_front(name: str) -> list[dict[str, Any]]:
    """The ok trials of multi-objective session `name` that no other ok trial dominates, by tid.

    Each: `tid`, `values` (in their own sign), `params`. Empty for a
    session with one objective.
    """
    from ._queries import results

    found = [r for r in results(name) if isinstance(r.result, dict) and "losses" in r.result]
    front = [r for r in found if not any(dominates(o.result["losses"], r.result["losses"]) for o in found)]
    return [{"tid": r.tid, "values": list(r.result["values"]), "params": r.params} for r in front]
