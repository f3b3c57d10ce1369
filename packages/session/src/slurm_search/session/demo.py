"""A demo objective: the paraboloid x**2 + y**2 on [-2, 2]**2 (minimum 0 at 0, 0).

    from slurm_search import session
    from slurm_search.session import demo
    name = session.create_session("slurm_search.session.demo:objective",
                                  demo.space(), max_evals=50,
                                  context={"sleep": 0.5})

`context` (or `params`) may hold `sleep`: seconds to wait per trial, to
stand for real work; `fail`: a probability of raising instead of returning
(the draw is seeded by the parameters, so a trial fails the same way on
every attempt); `steps`: train in that many steps (the sleep spread over
them), reporting ``(x**2 + y**2) * (1 + 1/step) + 1/step`` at each, so a
session with a pruner stops the bad settings early. `create_session`
checks the context through `objective.check_context`: each must be a finite
number >= 0 (`fail` <= 1, `steps` a whole number).
"""

from __future__ import annotations

import math
import numbers
import random
import time
from typing import Any

# What the context may set, and the largest value each takes.
CONTEXT_KEYS = {"sleep": math.inf, "fail": 1.0, "steps": 1e6}


def space() -> dict[str, Any]:
    """x, y ~ uniform(-2, 2)."""
    from hyperopt import hp

    return {"x": hp.uniform("x", -2, 2), "y": hp.uniform("y", -2, 2)}


def objective(params: dict[str, Any], context: Any = None) -> float:
    """x**2 + y**2, after sleeping `sleep` seconds (from context or params).

    Raises:
        RuntimeError: with probability `fail` (from context or params).
    """
    options = {**(context if isinstance(context, dict) else {}), **params}
    value = float(params.get("x", 0.0)) ** 2 + float(params.get("y", 0.0)) ** 2
    steps = int(options.get("steps") or 0)
    if steps:
        from . import report  # the package's own: this module is its example objective

        for step in range(1, steps + 1):
            if options.get("sleep"):
                time.sleep(float(options["sleep"]) / steps)
            report(value * (1 + 1 / step) + 1 / step, step)
    elif options.get("sleep"):
        time.sleep(float(options["sleep"]))
    if options.get("fail") and random.Random(repr(sorted(params.items()))).random() < float(options["fail"]):
        raise RuntimeError(f"demo objective failed on purpose at {params}")
    return value


def check_context(context: Any) -> None:
    """Refuse a context the objective cannot use (`create_session` calls this).

    Raises:
        ValueError: `sleep` or `fail` is not a finite number >= 0 (`fail`
            at most 1).
    """
    if not isinstance(context, dict):
        return  # the objective ignores anything but a dict
    for key, top in CONTEXT_KEYS.items():
        value = context.get(key)
        if value is None:
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, numbers.Real)
            or not math.isfinite(value)
            or not 0 <= float(value) <= top
        ):
            bound = f" and <= {top:g}" if math.isfinite(top) else ""
            raise ValueError(f"{key} must be a finite number >= 0{bound}, not {value!r}")
    steps = context.get("steps")
    if steps is not None and not float(steps).is_integer():
        raise ValueError(f"steps must be a whole number >= 0, not {steps!r}")


objective.check_context = check_context  # type: ignore[attr-defined]
