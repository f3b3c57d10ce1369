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


# -- population-based training's toy (issue 24; bench/bench_pbt.py) ----------


def pbt_space() -> dict[str, Any]:
    """h ~ uniform(0, 1): the toy's one hyperparameter."""
    from hyperopt import hp

    return {"h": hp.uniform("h", 0.0, 1.0)}


def pbt_target(step: int, horizon: int = 100) -> float:
    """The best h at `step`: 0.8 at step 0, moving linearly to 0.2 at `horizon`."""
    return 0.8 - 0.6 * min(step, horizon) / horizon


def pbt_gain(h: float, step: int, horizon: int = 100) -> float:
    """What one step at `h` adds to the score: exp(-((h - h*(step)) / 0.1)**2)."""
    return math.exp(-(((h - pbt_target(step, horizon)) / 0.1) ** 2))


def pbt_toy(params: dict[str, Any], context: Any = None) -> float:
    """A member of the toy: the score accumulates `pbt_gain(h, t)` over `steps` steps.

    Reports minus the score at every step and checkpoints `{"step", "score"}`
    every `interval` steps (a PBT session's exploit happens there); resumes
    from its checkpoint (its own, or a donor's after an exploit). Context:
    `steps` (default 100), `interval` (default 10), `sleep` (seconds per
    step), `count` (a file that gets one line per call: the steps it ran).
    Returns minus the score (the session minimises).
    """
    from . import load_checkpoint, report, save_checkpoint, should_stop, suspend

    options = context if isinstance(context, dict) else {}
    steps, interval = int(options.get("steps", 100)), int(options.get("interval", 10))
    saved = load_checkpoint()
    step, score = (0, 0.0) if saved is None else (saved["step"], saved["score"])
    ran = 0
    try:
        while step < steps:
            score += pbt_gain(float(params["h"]), step, steps)
            step += 1
            ran += 1
            if options.get("sleep"):
                time.sleep(float(options["sleep"]))
            report(-score, step)
            if step % interval == 0 or step == steps:
                save_checkpoint({"step": step, "score": score}, step=step)
                if should_stop():
                    suspend()
    finally:
        if options.get("count"):
            with open(options["count"], "a") as out:
                out.write(f"{ran}\n")
    return -score
