"""PBT's explore step: new values near the donor's, within the space's bounds.

Each active label of the donor's vals is, with `resample_probability`, drawn
afresh from the hyperopt space (`rand`'s draw for this member and step);
otherwise multiplied by one of the `perturb` factors: `uniform`,
`quniform`, `loguniform`, `qloguniform` and `randint` values are clipped to
their bounds (and rounded to `q` or to an integer), `hp.choice` moves its
index to the neighbour below (factor < 1) or above (factor > 1), clipped,
and an unbounded distribution (`normal`, `lognormal`, ...) is multiplied
only. The generator is seeded from (session seed, tid, step): the same log
gives the same new values on every host. Imports hyperopt (through the
space's Domain).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from ._errors import InvalidSpace

__all__ = ["Bound", "bounds_of", "check_flat", "explore"]


class Bound(NamedTuple):
    """How a label's value may move: `kind` is `float`, `int`, `choice` or `free`.

    `low`/`high` are inclusive bounds (a `choice`: indexes 0 .. options - 1);
    `q` rounds a quantised float; `log`: drawn on a log scale (loguniform).
    """

    kind: str
    low: float = -math.inf
    high: float = math.inf
    q: float | None = None
    log: bool = False


def _literal(node: Any) -> Any:
    if getattr(node, "name", None) == "literal":
        return node.obj
    raise ValueError(f"not a literal: {node}")


def _choices(expr: Any) -> dict[str, int]:
    """label -> number of options of each `hp.choice` in the space."""
    from hyperopt import pyll

    found = {}
    for node in pyll.dfs(expr):
        if node.name == "switch" and node.pos_args and getattr(node.pos_args[0], "name", None) == "hyperopt_param":
            found[node.pos_args[0].arg["label"].obj] = len(node.pos_args) - 1
    return found


def bounds_of(domain: Any) -> dict[str, Bound]:
    """Per label of a compiled hyperopt Domain, how explore may move its value.

    Bounds that are not literals (an expression) leave the label `free`.
    """
    choices = _choices(domain.expr)
    out: dict[str, Bound] = {}
    for label, node in domain.params.items():
        if label in choices:
            out[label] = Bound("choice", 0, choices[label] - 1)
            continue
        try:
            args = [_literal(arg) for arg in node.pos_args]
            kind = node.name
            if kind == "uniform":
                out[label] = Bound("float", float(args[0]), float(args[1]))
            elif kind == "quniform":
                out[label] = Bound("float", float(args[0]), float(args[1]), float(args[2]))
            elif kind == "loguniform":
                out[label] = Bound("float", math.exp(args[0]), math.exp(args[1]), log=True)
            elif kind == "qloguniform":
                out[label] = Bound("float", math.exp(args[0]), math.exp(args[1]), float(args[2]), log=True)
            elif kind == "randint":
                low, high = (0, args[0]) if len(args) == 1 else (args[0], args[1])
                out[label] = Bound("int", int(low), int(high) - 1)
            else:
                out[label] = Bound("free")
        except (ValueError, TypeError, IndexError, OverflowError):
            out[label] = Bound("free")
    return out


def check_flat(domain: Any) -> None:
    """PBT moves each label on its own: a parameter inside a choice's option cannot be.

    Raises:
        InvalidSpace: the space nests parameters in a choice.
    """
    from ._space import _switch_nested_params

    nested = _switch_nested_params(domain.expr)
    if nested:
        raise InvalidSpace(
            f"pbt needs a flat space, but {', '.join(sorted(set(nested)))} sit inside a choice: "
            "flatten the space (one label per hyperparameter) or use another algo"
        )


def _move(value: Any, bound: Bound, factor: float) -> Any:
    if bound.kind == "choice":
        index = int(value) + (-1 if factor < 1 else 1 if factor > 1 else 0)
        return int(min(max(index, bound.low), bound.high))
    moved = float(value) * factor
    if bound.kind == "int":
        return int(min(max(round(moved), bound.low), bound.high))
    if bound.kind == "float":
        moved = min(max(moved, bound.low), bound.high)
        if bound.q:
            moved = round(moved / bound.q) * bound.q
        return float(moved)
    return float(moved)


def explore(domain: Any, vals: dict, options: dict, seed: int, tid: int, step: int) -> dict:
    """New vals for member `tid` exploiting at `step`, from the donor's `vals`.

    Args:
        domain: the session's compiled hyperopt Domain.
        vals: the donor's vals (label -> [value] or [] if inactive).
        options: the session's PBT options (`perturb`, `resample_probability`).
        seed: the session's seed.
        tid: the exploiting member.
        step: the step it exploits at.

    Returns:
        The new vals, in the same shape (inactive labels stay []).
    """
    from ._space import _plain_vals, suggest, trial_seed
    from ._suggesting import _NO_TRIALS

    rng = np.random.default_rng([seed, tid, step, 1])
    bounds = bounds_of(domain)
    fresh: dict | None = None
    new: dict = {}
    for label in sorted(vals):
        current = vals[label]
        if not current:
            new[label] = []
            continue
        resample = rng.random() < options["resample_probability"]
        factor = float(options["perturb"][int(rng.integers(len(options["perturb"])))])
        if resample:
            if fresh is None:
                fresh = suggest("rand", domain, _NO_TRIALS, tid, trial_seed(seed, 1_000_003 * (step + 1) + tid))
            new[label] = list(fresh.get(label) or current)
        else:
            new[label] = [_move(current[0], bounds.get(label, Bound("free")), factor)]
    return _plain_vals(new)
