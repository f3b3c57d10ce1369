"""Objectives for the session tests (imported by path, in-process and by worker processes)."""

from __future__ import annotations

import os
import sys
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


def where(params, context=None):
    """Which process ran the trial, and whether it was forked from the test
    process (it then has pytest imported; a fresh ``ssearch work_on`` has not)."""
    sleep = (context or {}).get("sleep", 0)
    if sleep:
        time.sleep(sleep)
    return {"loss": float(params["x"]), "pid": os.getpid(), "forked": "_pytest" in sys.modules}
