"""What a worker reports: an objective's value checked as a result, or a failure."""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable
from typing import Any

from ._big_results import store_apart
from ._errors import InvalidResult
from ._events import Failure, Prune, Result, Suspend
from ._view import View


def normalize_result(value: Any, directions: tuple[str, ...] | None = None) -> dict:
    """An objective's return value as a hyperopt result dict with a float `loss`.

    With `directions` (a multi-objective session), one value per direction
    (see _multi.py).

    Raises:
        InvalidResult: not a finite number, nor a dict with a finite `loss`.
    """
    if directions:
        from ._multi import multi_result

        return multi_result(value, directions)
    if isinstance(value, dict):
        if "loss" not in value or value.get("status", "ok") != "ok":
            raise InvalidResult(value)
        result = dict(value)
        loss = result["loss"]
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        result = {}
        loss = value
    else:
        raise InvalidResult(value)
    try:
        loss = float(loss)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int past a float (10**400)
        raise InvalidResult(value) from None
    if not math.isfinite(loss):
        raise InvalidResult(value)
    result["loss"] = loss
    result["status"] = "ok"
    return result


def _elapsed(v: View, tid: int, duration: float | None, now: float) -> float:
    if duration is not None:
        return float(duration)
    st = v.peek()
    trial = st.trials.get(tid) if st is not None else None
    return max(0.0, now - trial.refresh_time) if trial is not None else 0.0


def result_report(worker: str, tid: int, result: dict, duration: float | None, v: View) -> Callable[[int], Any]:
    """Makes the Result record; a big result is written apart first (`_big_results`),
    and the blob is the function's `.blob` (removed if the report is refused)."""
    recorded, blob = store_apart(v.name, result)

    def make(attempt: int) -> Result:
        now = time.time()
        return Result(tid, worker, attempt, recorded, now, _elapsed(v, tid, duration, now))

    make.blob = blob  # type: ignore[attr-defined]
    return make


def failure_report(worker: str, tid: int, text: str, duration: float | None, v: View) -> Callable[[int], Any]:
    def make(attempt: int) -> Failure:
        now = time.time()
        return Failure(tid, worker, attempt, text, now, _elapsed(v, tid, duration, now))

    return make


def suspend_report(worker: str, tid: int, reason: str) -> Callable[[int], Any]:
    def make(attempt: int) -> Suspend:
        return Suspend(tid, worker, attempt, reason, time.time())

    return make


def prune_report(worker: str, tid: int, step: int | None, loss: float | None, duration: float) -> Callable[[int], Any]:
    def make(attempt: int) -> Prune:
        return Prune(tid, worker, attempt, step, loss, time.time(), float(duration))

    return make
