"""The objective of every sampling node's search session.

A worker (this process, a local ``ssearch work_on`` process or a Slurm task)
calls ``evaluate(params, context)``. The context holds everything needed to
rebuild the experiment there: the spec's reference, the run and its seed and
parameters, the sampling node's AST path and the parameters in effect at the
node. The worker rebuilds the tree, walks the path to the node and evaluates
its inner expression at the sampled value.
"""

from __future__ import annotations

import logging
import numbers
from collections.abc import Mapping
from typing import Any

from . import _reports, _runtime
from ._context import OBJECTIVE, ObjectiveContext
from ._errors import MeasureError
from ._measures import select
from ._nodes import SamplingNode, evaluate_tree, navigate
from ._params import point_key, with_param
from ._spec import load_spec_once

__all__ = ["OBJECTIVE", "ObjectiveContext", "evaluate", "loss_of"]

logger = logging.getLogger(__name__)


def loss_of(value: Any, sign: int, measure: tuple[str, ...] | None) -> float:
    """The session loss of an inner result: ``sign * measure(value)``; 0 when not optimising.

    Raises:
        MeasureError: the measured value is not a number.
    """
    if not sign:
        return 0.0
    measured = select(value, list(measure)) if measure else value
    if not isinstance(measured, numbers.Real) or isinstance(measured, bool):
        text = ":".join(measure) if measure else "(none)"
        raise MeasureError(
            text, f"optimising needs a number, got {type(measured).__name__}; set minimize_measure/maximize_measure"
        )
    return sign * float(measured)


def evaluate(params: Mapping[str, Any], context: ObjectiveContext) -> dict[str, Any]:
    """Evaluate the sampling node's inner expression at ``params["value"]``.

    Returns:
        ``{"loss": ..., "value": inner result}``.
    """
    run = context.run
    spec = load_spec_once(run.spec_ref)
    with _runtime.evaluation(run.top_params, run):
        root = spec.experiment_func()
    node = navigate(root, context.node_path)
    if not isinstance(node, SamplingNode):
        raise TypeError(f"{'.'.join(context.node_path)} leads to {type(node).__name__}, not a sampling node")
    value = params["value"]
    path = list(context.node_path) + [f"@{point_key(value)}"]
    with _runtime.evaluation(with_param(context.node_params, context.var, value), run), \
            _runtime.setting(context.var, value), _reports.frame(context.sign):
        result = evaluate_tree(node.expr, path)
    _check_number(result)
    return {"loss": loss_of(result, context.sign, context.measure), "value": result}


def _check_number(result: Any) -> None:
    # A number no float holds (10**400) would be stored, then break every
    # measure: the trial fails instead, with one line saying what was returned.
    if isinstance(result, numbers.Real) and not isinstance(result, bool):
        try:
            float(result)
        except OverflowError:
            from slurm_search.session import InvalidResult

            raise InvalidResult(result) from None
