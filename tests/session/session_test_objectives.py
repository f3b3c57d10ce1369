"""Objectives for the session tests (imported by path, in-process and by worker processes)."""

from __future__ import annotations

import os
import time


def noop(params, context=None):
    return 0.0


def boom(params, context=None):
    raise ValueError(f"boom at {params}")


def returns_text(params, context=None):
    return "not a loss"


def with_extras(params, context=None):
    return {"loss": params["x"], "pid": os.getpid(), "note": "kept"}


def sleepy(params, context):
    time.sleep(context["sleep"])
    return float(params["x"])


NOT_CALLABLE = 3


# A launcher sets this to its pid before it starts workers: a worker forked
# from it inherits the value, a fresh ``ssearch work_on`` process has None.
FORKED_FROM: int | None = None


def where(params, context=None):
    """Which process ran the trial, and whether it was forked from its launcher."""
    sleep = (context or {}).get("sleep", 0)
    if sleep:
        time.sleep(sleep)
    return {"loss": float(params["x"]), "pid": os.getpid(), "forked": FORKED_FROM == os.getppid()}


class TwoArgError(Exception):
    """Pickles, but does not unpickle: pickle rebuilds it with one argument."""

    def __init__(self, a, b):
        super().__init__(f"{a} and {b}")


def poisoned_when_high(params, context=None):
    """A result that does not load back for x >= 0.5, a plain one below."""
    if params["x"] >= 0.5:
        return {"loss": params["x"], "error": TwoArgError("a", "b")}
    return params["x"]


class _OnlyHere:
    pass


def worker_only_result(params, context=None):
    """A result whose class lives in a module that exists only in this process."""
    import sys
    import types

    module = sys.modules.setdefault("only_on_this_worker", types.ModuleType("only_on_this_worker"))
    _OnlyHere.__module__ = "only_on_this_worker"
    _OnlyHere.__qualname__ = "_OnlyHere"
    module._OnlyHere = _OnlyHere
    return {"loss": 1.0, "thing": _OnlyHere()}


def unpicklable_result(params, context=None):
    return {"loss": 1.0, "callback": lambda: None}


def numpy_result(params, context=None):
    import numpy as np

    return {"loss": float(params["x"]), "curve": np.arange(3.0)}


def hangs(params, context=None):
    time.sleep((context or {}).get("sleep", 3600))
    return 0.0


def exits(params, context=None):
    import sys

    sys.exit(3)


def curve(params, context=None):
    """A learning curve: reports ``x + 1 / step`` at steps 1..``steps``, returns ``x``.

    Context: ``steps`` (default 16), ``sleep`` seconds per step, ``record``
    a file to which each step reached is appended as ``tid-less x step``.
    """
    from slurm_search import session

    ctx = context or {}
    for step in range(1, int(ctx.get("steps", 16)) + 1):
        if ctx.get("sleep"):
            time.sleep(ctx["sleep"])
        if ctx.get("record"):
            with open(ctx["record"], "a", encoding="utf-8") as out:
                out.write(f"{params['x']!r} {step} {os.getpid()}\n")
        session.report(params["x"] + 1.0 / step, step)
    return float(params["x"])


def bad_report(params, context=None):
    from slurm_search import session

    session.report(float("nan"), 1)
    return 0.0


def rich(params, context=None):
    """Any nested parameters: reports ``v + 1 / step`` at steps 1..4 and returns ``v``, where ``v``
    sums the numeric leaves (a text leaf counts its length)."""
    from slurm_search import session

    def leaves(p):
        if isinstance(p, dict):
            for value in p.values():
                yield from leaves(value)
        elif isinstance(p, (list, tuple)):
            for value in p:
                yield from leaves(value)
        elif isinstance(p, str):
            yield float(len(p))
        elif p is not None:
            yield float(p)

    v = sum(leaves(params)) % 7.0
    for step in range(1, 5):
        session.report(v + 1.0 / step, step)
    return v


def branin(params, context=None):
    """Branin's function of ``x`` in [-5, 10] and ``y`` in [0, 15]; its minimum is 0.397887."""
    import math

    x, y = params["x"], params["y"]
    a, b, c = 1.0, 5.1 / (4 * math.pi**2), 5 / math.pi
    return a * (y - b * x**2 + c * x - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x) + 10


def two_values(params, context=None):
    """Two values of ``x``: ``x**2`` and ``(x - 2)**2`` (a Pareto front for x in [0, 2] when both are minimised)."""
    x = params["x"]
    return [x**2, (x - 2) ** 2]
