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
