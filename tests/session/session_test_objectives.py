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
