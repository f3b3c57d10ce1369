"""A demo objective: the paraboloid x**2 + y**2 on [-2, 2]**2 (minimum 0 at 0, 0).

    from slurm_search import session
    from slurm_search.session import demo
    name = session.create_session("slurm_search.session.demo:objective",
                                  demo.space(), max_evals=50,
                                  context={"sleep": 0.5})

`context` (or `params`) may hold `sleep`: seconds to wait per trial, to
stand for real work; `fail`: a probability of raising instead of returning
(the draw is seeded by the parameters, so a trial fails the same way on
every attempt).
"""

from __future__ import annotations

import random
import time
from typing import Any


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
    if options.get("sleep"):
        time.sleep(float(options["sleep"]))
    if options.get("fail") and random.Random(repr(sorted(params.items()))).random() < float(options["fail"]):
        raise RuntimeError(f"demo objective failed on purpose at {params}")
    return float(params.get("x", 0.0)) ** 2 + float(params.get("y", 0.0)) ** 2
