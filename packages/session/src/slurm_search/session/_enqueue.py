"""Warm starts: known settings evaluated first, for every algorithm (Optuna's `enqueue_trial`).

`enqueue(name, params)` checks `params` against the session's space and
appends hyperopt's vals for them to the session's queue, the annotation
`enqueued` (a list of vals, oldest first). The next new trial that a worker
claims takes the queue's head instead of a suggestion: the claim and the
shorter queue are recorded together, under the session's lock, so a setting
is run exactly once whatever the number of workers, and every algorithm
(rand, tpe, anneal, enumeration, Optuna's samplers) then learns from it like
from any trial. Enqueued trials count within `max_evals`.

`params` name hyperopt's labels, as the dashboard shows them: a number for
`uniform`, `randint` and the like (checked against the space's bounds,
rounded to a `q`), and for a `hp.choice` the option itself when it is a
plain value, a value only its dict option holds (`opt="sgd"` for
`{"kind": "sgd", ...}`: a text), or its index. Exactly the labels of the branches taken are
given: a label the setting does not use, or one it is missing, is refused
in one line that lists the expected ones.
"""

from __future__ import annotations

import math
import time
from typing import Any

from slurm_search.locking import lock

from ._claims import commit
from ._errors import InvalidSetting
from ._events import Annotate
from ._names import session_name
from ._queue import QUEUE
from ._view import view

__all__ = ["QUEUE", "enqueue"]


def _options(expr: Any) -> dict[str, list[Any]]:
    """label -> each `hp.choice` option's literal value (None for an expression)."""
    from hyperopt import pyll

    out = {}
    for node in pyll.dfs(expr):
        if node.name == "switch" and node.pos_args and getattr(node.pos_args[0], "name", None) == "hyperopt_param":
            label = node.pos_args[0].arg["label"].obj
            out[label] = [_option(o) for o in node.pos_args[1:]]
    return out


def _option(node: Any) -> Any:
    """An option's literal value; for a dict, the set of its literal values (to name it by one)."""
    if node.name == "literal":
        return node.obj
    if node.name == "dict":
        return _Named(v.obj for _, v in node.named_args if v.name == "literal" and isinstance(v.obj, (str, int, float)))
    return None


class _Named(frozenset):
    """The literal values of a dict option: `opt=sgd` names `{'kind': 'sgd', ...}` if no other option holds 'sgd'."""

    def __repr__(self) -> str:
        return "{" + ", ".join(sorted(map(repr, self))) + "}"


def _index(label: str, options: list[Any], value: Any) -> int:
    for i, option in enumerate(options):
        if option is not None and not isinstance(option, _Named) and type(option) is type(value) and option == value:
            return i
    if isinstance(value, str):  # a number is an index (or a plain option), never a dict's field
        holders = [i for i, option in enumerate(options) if isinstance(option, _Named) and value in option]
        if len(holders) == 1:
            return holders[0]
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(options):
        return value
    shown = ", ".join(repr(o) if o is not None else f"{i} (an expression)" for i, o in enumerate(options))
    raise InvalidSetting(f"params[{label!r}]", value, f"one of its options {shown}, or an index 0..{len(options) - 1}")


def _number(label: str, kind: str, a: dict[str, Any], value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidSetting(f"params[{label!r}]", value, f"a finite number ({kind})")
    x = float(value)
    low = high = None
    if kind in ("uniform", "quniform"):
        low, high = a["low"], a["high"]
    elif kind in ("loguniform", "qloguniform"):
        low, high = math.exp(a["low"]), math.exp(a["high"])
    elif kind == "randint":
        if x != int(x) or not a["low"] <= x < a["high"]:
            raise InvalidSetting(f"params[{label!r}]", value, f"an integer in [{a['low']}, {a['high']})")
        return int(x)
    if "q" in a and kind.startswith("q"):
        x = float(round(x / a["q"]) * a["q"])
        if low is not None:  # hyperopt rounds its bounds too
            low, high = round(low / a["q"]) * a["q"], round(high / a["q"]) * a["q"]
    if low is not None and high is not None and not (
        low - 1e-9 * max(1, abs(low)) <= x <= high + 1e-9 * max(1, abs(high))
    ):
        raise InvalidSetting(f"params[{label!r}]", value, f"a number in [{low:g}, {high:g}] ({kind})")
    return x


def vals_of(domain: Any, params: dict[str, Any]) -> dict[str, list]:
    """Hyperopt's vals for the setting `params` (label -> value) of the space of `domain`.

    Raises:
        InvalidSetting: a value out of its label's range, a label the setting
            does not use, or one it is missing.
    """
    from ._optuna_sampling import _labels, _walk  # pure pyll walks; optuna is not imported

    if not isinstance(params, dict):
        raise InvalidSetting("params", params, "a dict of the space's labels and their values")
    labels = _labels(domain)
    options = _options(domain.expr)
    vals: dict[str, list] = {label: [] for label in labels}

    def visit(label: str) -> Any:
        if vals[label]:
            return vals[label][0]
        if label not in params:
            used = sorted(set(params) | {k for k, v in vals.items() if v} | {label})
            raise InvalidSetting("params", sorted(params), f"a value for {label!r} too (this setting uses {used})")
        kind, a = labels[label]
        value = params[label]
        vals[label] = [_index(label, options[label], value) if label in options else _number(label, kind, a, value)]
        return vals[label][0]

    _walk(domain.expr, visit, set())
    unused = sorted(set(params) - {k for k, v in vals.items() if v})
    if unused:
        used = sorted(k for k, v in vals.items() if v)
        raise InvalidSetting("params", unused, f"only labels this setting uses ({used})")
    return vals


def enqueue(name: str, params: dict[str, Any]) -> int:
    """Evaluate the setting `params` before any suggestion (a warm start).

    Args:
        name: the session.
        params: hyperopt label -> value (a `hp.choice`: its option or index).

    Returns:
        How many settings are queued now, this one included.

    Raises:
        UnknownSession: no such session.
        InvalidSetting: `params` is not a setting of the session's space.
    """
    name = session_name(name)
    v = view(name)
    with lock(name), v.mutex:
        st = v.refresh()
        _, domain = v.derived.space_and_domain(v.state)
        vals = vals_of(domain, params)
        queue = [*(st.annotations.get(QUEUE) or []), vals]
        event = Annotate(QUEUE, queue, time.time())
        v.apply_all([event])
        commit(v, [event])
    return len(queue)
