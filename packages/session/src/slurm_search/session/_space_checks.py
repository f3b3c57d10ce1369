"""Checks of a search space beyond compiling: each distribution can draw.

hyperopt compiles ``hp.uniform("x", 2, -2)`` and ``hp.choice("x", [])``
without a word, and refuses them only when a worker draws a setting; a
leaf that is no hyperopt expression nor a plain value (``{"x": object()}``)
reaches the objective as is. `check_space` draws once from every
distribution of the space, wherever it sits (inside every option of a
choice, not only the one a draw takes), and walks the plain part, so
`create_session` refuses such a space before anything is stored.
"""

from __future__ import annotations

import enum
import numbers
from typing import Any

import numpy as np
from hyperopt import pyll
from hyperopt.pyll import stochastic

from ._errors import InvalidSpace

# Leaves a space may hold besides hyperopt expressions: they are given to
# the objective as they are.
_PLAIN = (numbers.Number, str, bytes, type(None), np.ndarray, np.generic, enum.Enum, type)


def check_space(space: Any) -> None:
    """Refuse a space that compiles but cannot be drawn from.

    Raises:
        InvalidSpace: a distribution that cannot draw (reversed bounds, an
            empty choice, a negative scale), naming its label; a leaf that
            is neither a hyperopt expression nor a plain value.
    """
    _check_leaves(space, "the space")
    rng = np.random.default_rng(0)
    for node in pyll.dfs(pyll.as_apply(space)):
        if node.name != "hyperopt_param":
            continue
        label = node.arg["label"].obj
        try:
            stochastic.sample(node.pos_args[1], rng, print_node_on_error=False)
        except Exception as err:  # hyperopt and numpy raise many types for a bad distribution
            raise InvalidSpace(f"{label!r} cannot be drawn from ({_reason(node.pos_args[1], err)})") from None


def _reason(dist: Any, err: Exception) -> str:
    if dist.name == "randint" and [getattr(a, "obj", None) for a in dist.pos_args] == [0]:
        return "hp.choice of no options: give it at least one"
    return f"{dist.name}: {err}"


def _check_leaves(value: Any, where: str) -> None:
    if isinstance(value, pyll.Apply) or isinstance(value, _PLAIN) or callable(value):
        return
    if isinstance(value, dict):
        for key, item in value.items():
            _check_leaves(item, f"{key!r}")
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            _check_leaves(item, where)
        return
    raise InvalidSpace(
        f"{where} holds a {type(value).__name__} object, which is neither a hyperopt expression "
        "(hp.uniform, hp.choice, ...) nor a plain value (a number, a string, a list or dict of them)"
    )
