"""Which hyperparameters a hyperopt space samples on a log scale.

A plot of a hyperparameter against the return reads well only on the scale
it was sampled on: a learning rate drawn from ``hp.loguniform(1e-4, 1e-2)``
spreads evenly on a log axis and bunches against zero on a linear one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["LOG_DISTRIBUTIONS", "log_scaled"]

LOG_DISTRIBUTIONS = frozenset({"loguniform", "qloguniform", "lognormal", "qlognormal"})


def _log_labels(expr: Any) -> set[str]:
    from hyperopt import pyll

    found = set()
    for node in pyll.dfs(pyll.as_apply(expr)):
        if node.name == "hyperopt_param" and node.arg["obj"].name in LOG_DISTRIBUTIONS:
            found.add(node.arg["label"].obj)
    return found


def log_scaled(space: Any) -> set[str]:
    """The names sampled on a log scale: hyperopt labels, and the keys of a
    dict space whose value is such a parameter (possibly wrapped, e.g. in
    ``scope.int``).

    A space that is not a hyperopt expression (a plain value, a list of
    choices) has none.
    """
    if space is None:
        return set()
    try:
        names = _log_labels(space)
        if isinstance(space, Mapping):
            names |= {str(key) for key, value in space.items() if _log_labels(value)}
    except Exception:  # noqa: BLE001 - not an expression hyperopt reads: nothing is log-scaled
        return set()
    return names
