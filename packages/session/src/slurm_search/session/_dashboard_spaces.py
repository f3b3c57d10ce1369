"""Optuna distributions of a session's hyperopt space, for the read-only storage in `dashboard`.

`uniform`, `quniform` -> float; `loguniform`, `qloguniform`, `lognormal` ->
float on a log scale; `randint` -> int; `hp.choice` -> categorical over its
options (an option that is not a plain value is shown by its index);
`normal` and anything else -> `fit` to the values seen. Imports optuna.
"""

from __future__ import annotations

import datetime
import math
from typing import Any

from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution


def _literal(node: Any) -> Any:
    """The value of a literal pyll node (raises ValueError for an expression)."""
    if getattr(node, "name", None) == "literal":
        return node.obj
    raise ValueError(f"not a literal: {node}")


def plain(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def _choices(expr: Any) -> dict[str, tuple[Any, ...]]:
    """label -> the options of each `hp.choice` (a `switch` on a hyperopt_param) in the space."""
    from hyperopt import pyll

    found: dict[str, tuple[Any, ...]] = {}
    for node in pyll.dfs(expr):
        if node.name != "switch" or not node.pos_args:
            continue
        param = node.pos_args[0]
        if getattr(param, "name", None) != "hyperopt_param":
            continue
        label = param.arg["label"].obj
        options = []
        for i, option in enumerate(node.pos_args[1:]):
            try:
                value = _literal(option)
            except ValueError:
                value = f"option {i}"
            options.append(value if plain(value) else f"option {i}")
        if len(set(map(repr, options))) < len(options):
            options = [f"{i}: {option}" for i, option in enumerate(options)]
        found[label] = tuple(options)
    return found


def distributions_of(space_obj: Any) -> dict[str, BaseDistribution | tuple[Any, ...] | None]:
    """Per hyperopt label: an optuna distribution, a tuple of choices, or None (decide from the values).

    `loguniform`, `qloguniform` and `lognormal` are on a log scale; hyperopt
    gives their bounds as logs. A bound that is not a literal leaves the
    label to be decided from the values seen.
    """
    from hyperopt.base import Domain

    from ._space import normalize_space

    domain = Domain(lambda params: 0.0, normalize_space(space_obj))
    choices = _choices(domain.expr)
    out: dict[str, Any] = {}
    for label, node in domain.params.items():
        if label in choices:
            out[label] = choices[label]
            continue
        try:
            args = [_literal(arg) for arg in node.pos_args]
            kind = node.name
            if kind == "uniform":
                out[label] = FloatDistribution(float(args[0]), float(args[1]))
            elif kind == "quniform":
                q = float(args[2])
                out[label] = FloatDistribution(round(args[0] / q) * q, round(args[1] / q) * q)
            elif kind == "loguniform":
                out[label] = FloatDistribution(math.exp(args[0]), math.exp(args[1]), log=True)
            elif kind == "qloguniform":
                q = float(args[2])
                low = max(round(math.exp(args[0]) / q) * q, q)
                out[label] = FloatDistribution(low, max(round(math.exp(args[1]) / q) * q, low), log=True)
            elif kind == "randint":
                low, high = (0, args[0]) if len(args) == 1 else (args[0], args[1])
                out[label] = IntDistribution(int(low), int(high) - 1)
            elif kind in ("lognormal", "qlognormal"):
                out[label] = "log"  # bounds from the values seen
            else:
                out[label] = None
        except (ValueError, TypeError, IndexError, OverflowError):
            out[label] = None
    return out


def fit(spec: Any, values: list[Any]) -> BaseDistribution:
    """A distribution that holds every value in `values`, from the space's `spec` when it can."""
    numbers = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if isinstance(spec, tuple):
        return CategoricalDistribution(spec)
    if isinstance(spec, IntDistribution):
        if numbers:
            return IntDistribution(int(min(spec.low, *numbers)), int(max(spec.high, *numbers)))
        return spec
    if isinstance(spec, FloatDistribution):
        if numbers and (min(numbers) < spec.low or max(numbers) > spec.high):
            low, high = min(spec.low, *numbers), max(spec.high, *numbers)
            if spec.log and low <= 0:
                return FloatDistribution(low, high)
            return FloatDistribution(low, high, log=spec.log)
        return spec
    if numbers and len(numbers) == len(values):
        low, high = min(numbers), max(numbers)
        log = spec == "log" and low > 0
        return FloatDistribution(low, high if high > low else low + 1.0, log=log)
    return CategoricalDistribution(tuple(dict.fromkeys(v if plain(v) else repr(v) for v in values)) or (None,))


def external(dist: BaseDistribution, value: Any) -> Any:
    """A hyperopt value as optuna shows it: a choice's option, an int, a float."""
    if isinstance(dist, CategoricalDistribution):
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(dist.choices):
            return dist.choices[value]
        return value if plain(value) else repr(value)
    if isinstance(dist, IntDistribution):
        return int(value)
    return float(value)


# -- the storage ---------------------------------------------------------------


def local(t: float | None) -> datetime.datetime | None:
    # optuna keeps naive local datetimes (datetime.now()).
    return None if t is None else datetime.datetime.fromtimestamp(t)
