"""Measures of sampling results, and measure paths (``"argmax:mean"``).

A sampling node's result is a ``SamplingResults``: a dict of its measures,
which also keeps the raw points ``(tid, setting, value)`` in trial order.

A measure path is read outside in: ``"argmax:mean"`` on a node whose inner
expression is itself a sampling node takes, for each outer setting, the
``mean`` of its inner results, then the ``argmax`` of those means over the
outer settings. ``"point_values:cdf:mean"`` gives, for each outermost
setting, the sorted distribution (``cdf``) over the middle settings of the
``mean`` over the innermost ones. Everything here is pure, except the
``model_*`` measures, which ask the TPE model of the session (``_model``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

from ._errors import MeasureError

__all__ = ["MEASURES", "SamplingResults", "measurements", "select", "split_path"]

#: Every measure name a path may use.
MEASURES = (
    "mean",
    "std",
    "min",
    "max",
    "cdf",
    "argmin",
    "argmax",
    "point_values",
    "model_argmin",
    "model_argmax",
    "session_name",
)

_NUMERIC_ONLY = ("mean", "std", "min", "max", "cdf", "argmin", "argmax", "model_argmin", "model_argmax")


class SamplingResults(dict):
    """What a sampling node evaluates to: a dict of measures.

    Keys: ``point_values`` and ``session_name`` always; ``mean``, ``std``,
    ``min``, ``max``, ``cdf``, ``argmin``, ``argmax`` when the values are
    numbers. Attributes (for nested measure paths and the model measures):

    Attributes:
        points: ``(tid, setting, value)`` in trial order.
        space: the hyperopt space sampled (``{"value": space}``), or None.
        model_seed: the seed of the TPE model estimate.
    """

    def __init__(
        self,
        points: Sequence[tuple[int, Any, Any]],
        session_name: str | None = None,
        space: Any = None,
        model_seed: int = 0,
    ) -> None:
        super().__init__(measurements([(setting, value) for _, setting, value in points]))
        self["session_name"] = session_name
        self.points = [tuple(p) for p in points]
        self.space = space
        self.model_seed = model_seed

    def __reduce__(self):
        return (SamplingResults, (self.points, self["session_name"], self.space, self.model_seed))


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def measurements(points: Sequence[tuple[Any, Any]]) -> dict[str, Any]:
    """All plain measures of ``(setting, value)`` pairs given in trial order.

    Numbers give every measure (``std`` is the population standard deviation,
    ``cdf`` the sorted values, ``point_values`` the pairs sorted by value,
    ties in trial order, ``argmin``/``argmax`` the first setting reaching the
    extreme); other values (nested results) give ``point_values`` only.
    """
    points = list(points)
    if not points or not all(_is_number(v) for _, v in points):
        return {"point_values": points}
    values = [float(v) for _, v in points]
    mean = math.fsum(values) / len(values)
    low, high = min(values), max(values)
    return {
        "mean": mean,
        "std": math.sqrt(math.fsum((v - mean) ** 2 for v in values) / len(values)),
        "min": low,
        "max": high,
        "cdf": sorted(values),
        "argmin": points[values.index(low)][0],
        "argmax": points[values.index(high)][0],
        "point_values": sorted(points, key=lambda p: float(p[1])),
    }


def split_path(path: str | Sequence[str]) -> list[str]:
    """``"argmax:mean"`` -> ``["argmax", "mean"]``, each part checked.

    Raises:
        MeasureError: an empty path or an unknown measure.
    """
    parts = path.split(":") if isinstance(path, str) else list(path)
    text = ":".join(parts)
    if not parts or any(not p for p in parts):
        raise MeasureError(text, "empty measure name")
    for part in parts:
        if part not in MEASURES:
            import difflib

            close = difflib.get_close_matches(part, MEASURES, n=2)
            hint = f" (did you mean {' or '.join(close)}?)" if close else ""
            raise MeasureError(text, f"unknown measure {part!r}{hint}; measures: {', '.join(MEASURES)}")
    return parts


def _points(results: Any, text: str) -> list[tuple[Any, Any, Any]]:
    if isinstance(results, SamplingResults):
        return list(results.points)
    if isinstance(results, Mapping) and "point_values" in results:
        return [(i, s, v) for i, (s, v) in enumerate(results["point_values"])]
    raise MeasureError(text, f"selects from {type(results).__name__} values, not sampling results; drop a level")


def select(results: Any, path: str | Sequence[str]) -> Any:
    """The measure at ``path`` of sampling ``results`` (a ``SamplingResults``).

    Raises:
        MeasureError: unknown measure, a numeric measure of nested results
            (give the inner measure too), a path deeper than the nesting, or
            no results at all.
    """
    parts = split_path(path)
    text = ":".join(parts)
    head, rest = parts[0], parts[1:]
    if head == "session_name":
        if not isinstance(results, Mapping) or "session_name" not in results:
            raise MeasureError(text, "selects from values that are not sampling results")
        return results["session_name"]
    points = _points(results, text)
    if rest:
        points = [(tid, setting, select(value, rest)) for tid, setting, value in points]
    if not points:
        raise MeasureError(text, "the sampling gave no results")
    if head in _NUMERIC_ONLY and not all(_is_number(v) for _, _, v in points):
        raise MeasureError(
            text,
            f"{head!r} needs numbers but the sampled values are nested results; "
            f"select a measure of them too, e.g. '{text}:mean'",
        )
    if head in ("model_argmin", "model_argmax"):
        from ._model_best import model_estimate

        if not isinstance(results, SamplingResults) or results.space is None:
            raise MeasureError(text, "the model estimate needs the results of a sampling node")
        return model_estimate(results, {tid: value for tid, _, value in points}, minimize=head == "model_argmin")
    return measurements([(setting, value) for _, setting, value in points])[head]
