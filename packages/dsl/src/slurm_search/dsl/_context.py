"""What a sampling node hands to its search session: the strategies and the objective's context.

A leaf module: the nodes, the sampling and the objective all use it, and it
uses none of them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from . import _runtime

# strategy -> (function name, hyperopt algo, sign of the loss)
STRATEGIES = {
    "random": ("random_sampling", "rand", 0),
    "enumeration": ("enumeration_sampling", "enumeration", 0),
    "minimize": ("minimizing_sampling", "tpe", 1),
    "maximize": ("maximizing_sampling", "tpe", -1),
}


OBJECTIVE = "slurm_search.dsl._objective:evaluate"


@dataclasses.dataclass(frozen=True)
class ObjectiveContext:
    """What a worker needs to evaluate one sampling node's inner expression.

    Attributes:
        run: the ``exp:NAME``, spec reference, seed and top parameters.
        node_path: the sampling node's AST path.
        node_params: the parameters in effect where the node was evaluated.
        var: the parameter the sampled value is bound to.
        sign: 0 (random, enumeration), 1 (minimise), -1 (maximise).
        measure: the measure path of the inner result that is optimised.
    """

    run: _runtime.Run
    node_path: tuple[str, ...]
    node_params: Mapping[str, Any]
    var: str
    sign: int = 0
    measure: tuple[str, ...] | None = None
