"""Optuna distributions of a session's hyperopt space, for the read-only storage in `dashboard`.

Each label's distribution is the set of values hyperopt can give it, read
from the space (never from the values seen, except where the space has no
bounds), so it does not move as trials arrive:

- `uniform` -> float; `quniform` -> float with its step (bounds rounded to
  the step, as hyperopt rounds its values); `loguniform` -> float on a log
  scale; `qloguniform` -> float on a log scale (Optuna has no stepped log
  scale: the step is dropped, the log flag kept; hyperopt may round a
  value down to 0, which no log scale holds: `SessionStorage` shows such a
  value in a user attr instead of a param);
- any of those under `scope.int` (`hp.uniformint` is
  `scope.int(hp.quniform(...))`) -> int, with the step; `randint` -> int;
- `hp.choice`/`hp.pchoice` -> categorical over its options, an option that
  is not a plain value shown as a short text of what it is (`{'kind':
  'adam', 'lr': lr}`, a nested label by its name);
- `normal`, `lognormal` and their `q` forms (no bounds) -> `fit` to the
  values seen (log scale for the lognormals).

Arguments are read by name as well as by position (`q=` given by keyword).
Bounds that are `exp` of a log bound are rounded to 12 significant digits,
so `1e-4` is not shown as `0.00010000000000000009`. Imports optuna.
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


def clean(x: float) -> float:
    """`x` without the noise of `exp(log(x))`: 12 significant digits."""
    return float(f"{x:.12g}")


def _label_of(node: Any) -> str | None:
    """The label of a hyperopt parameter node, seen through `float`/`int` casts."""
    while getattr(node, "name", None) in ("float", "int") and node.pos_args:
        node = node.pos_args[0]
    if getattr(node, "name", None) == "hyperopt_param":
        return str(node.arg["label"].obj)
    return None


def describe(node: Any, depth: int = 0) -> str:
    """A short readable text of a pyll expression: literals as Python, nested parameters by label."""
    label = _label_of(node)
    if label is not None:
        return label
    name = getattr(node, "name", None)
    if name == "literal":
        return repr(node.obj)
    if depth > 3:
        return "..."
    if name == "dict":
        items = [f"{key!r}: {describe(value, depth + 1)}" for key, value in node.named_args]
        return "{" + ", ".join(items) + "}"
    if name in ("pos_args", "list", "tuple"):
        return "[" + ", ".join(describe(arg, depth + 1) for arg in node.pos_args) + "]"
    if name == "switch" and node.pos_args:
        inner = _label_of(node.pos_args[0])
        return inner if inner is not None else "choice"
    return f"{name}(...)"


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
        options: list[Any] = []
        for option in node.pos_args[1:]:
            try:
                value = _literal(option)
            except ValueError:
                value = describe(option)
            options.append(value if plain(value) else describe(option))
        if len(set(map(repr, options))) < len(options):
            options = [f"{i}: {option}" for i, option in enumerate(options)]
        found[label] = tuple(options)
    return found


def _ints(expr: Any) -> set[str]:
    """The labels whose values the space casts with `scope.int` (`hp.uniformint`, `randint`)."""
    from hyperopt import pyll

    return {label for node in pyll.dfs(expr) if node.name == "int" and node.pos_args
            for label in [_label_of(node.pos_args[0])] if label is not None}


def _args(node: Any) -> dict[str, Any]:
    """A distribution node's arguments by name (`low`, `high`, `q`, `upper`...), literals only."""
    out = {}
    for key, value in node.arg.items():
        if hasattr(value, "name"):
            out[key] = _literal(value)
    return out


def _rounded(x: float, q: float) -> float:
    # hyperopt rounds with numpy (half to even): the bounds it can reach.
    import numpy

    return clean(float(numpy.round(x / q) * q))


def _spec(kind: str, a: dict[str, Any], integer: bool) -> Any:
    """The distribution of one label of kind `kind` with arguments `a`."""
    if kind == "uniform":
        low, high = float(a["low"]), float(a["high"])
        return IntDistribution(math.ceil(low), math.floor(high)) if integer else FloatDistribution(low, high)
    if kind == "quniform":
        q = float(a["q"])
        low, high = _rounded(a["low"], q), _rounded(a["high"], q)
        if integer and q == int(q) and low == int(low):
            return IntDistribution(int(low), int(high), step=int(q))
        if integer:
            return IntDistribution(math.ceil(low), math.floor(high))
        return FloatDistribution(low, high, step=q)
    if kind == "loguniform":
        low, high = clean(math.exp(a["low"])), clean(math.exp(a["high"]))
        if integer:
            return IntDistribution(max(1, math.ceil(low)), max(1, math.floor(high)), log=True)
        return FloatDistribution(low, high, log=True)
    if kind == "qloguniform":
        q = float(a["q"])
        low = max(_rounded(math.exp(a["low"]), q), q)
        high = max(_rounded(math.exp(a["high"]), q), low)
        if integer and q == int(q):
            return IntDistribution(int(low), int(high), log=True)
        return FloatDistribution(low, high, log=True)
    if kind == "randint":
        low, high = (0, a["low"]) if "high" not in a else (a["low"], a["high"])
        return IntDistribution(int(low), int(high) - 1)
    if kind in ("lognormal", "qlognormal"):
        return "log"  # no bounds: from the values seen
    return "int" if integer else None


def distributions_of(space_obj: Any) -> dict[str, BaseDistribution | tuple[Any, ...] | str | None]:
    """Per hyperopt label: an optuna distribution, a tuple of choices, or a hint for `fit`.

    A hint is None (decide from the values), `"log"` (a log scale, bounds
    from the values) or `"int"` (ints, bounds from the values). A bound that
    is not a literal leaves the label to be decided from the values seen.
    """
    from hyperopt.base import Domain

    from ._space import normalize_space

    domain = Domain(lambda params: 0.0, normalize_space(space_obj))
    choices = _choices(domain.expr)
    ints = _ints(domain.expr)
    out: dict[str, Any] = {}
    for label, node in domain.params.items():
        if label in choices:
            out[label] = choices[label]
            continue
        try:
            # hyperopt names randint's single bound `upper`: `low` alone is 0..low.
            args = _args(node)
            if node.name == "randint" and "upper" in args:
                args = {"low": args["upper"]}
            out[label] = _spec(node.name, args, label in ints)
        except (ValueError, TypeError, KeyError, IndexError, OverflowError):
            out[label] = "int" if label in ints else None
    return out


def _inside(dist: BaseDistribution, numbers: list[float]) -> bool:
    low, high = dist.low, dist.high  # type: ignore[attr-defined]
    slack = 1e-9 * max(1.0, abs(low), abs(high))
    return all(low - slack <= x <= high + slack for x in numbers)


def fit(spec: Any, values: list[Any]) -> BaseDistribution:
    """A distribution that holds every value in `values`, from the space's `spec` when it can."""
    numbers = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if isinstance(spec, tuple):
        return CategoricalDistribution(spec)
    if isinstance(spec, IntDistribution):
        if not numbers or _inside(spec, numbers):
            return spec
        # A value the space cannot give (a space changed under a session): widened, never refused.
        return IntDistribution(int(min(spec.low, *numbers)), int(max(spec.high, *numbers)))
    if isinstance(spec, FloatDistribution):
        if not numbers or _inside(spec, [x for x in numbers if not (spec.log and x <= 0)]):
            return spec
        low, high = min(spec.low, *numbers), max(spec.high, *numbers)
        return FloatDistribution(low, high, log=spec.log and low > 0)
    if numbers and len(numbers) == len(values):
        low, high = min(numbers), max(numbers)
        if spec == "int":
            return IntDistribution(int(low), int(high))
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


def local(t: float | None) -> datetime.datetime | None:
    # optuna keeps naive local datetimes (datetime.now()).
    return None if t is None else datetime.datetime.fromtimestamp(t)
