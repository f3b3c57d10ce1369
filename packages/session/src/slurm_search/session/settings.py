"""The session package's settings (declared through `slurm_search.locking.settings`).

=============================  =========================================================
``SLURM_SEARCH_WORKER_START``  how local workers start: ``auto`` (default), ``fork``, ``spawn``
``SLURM_SEARCH_LEAVE_GRACE``   seconds a trial has to suspend once its worker is told to leave (10)
=============================  =========================================================
"""

from __future__ import annotations

from slurm_search.locking.settings import choice, declare, seconds

__all__ = ["DEFAULT_LEAVE_GRACE", "LEAVE_GRACE", "WORKER_START", "WORKER_STARTS", "leave_grace", "worker_start"]

WORKER_STARTS = ("auto", "fork", "spawn")
DEFAULT_LEAVE_GRACE = 10.0

WORKER_START = declare(
    "SLURM_SEARCH_WORKER_START",
    choice(*WORKER_STARTS),
    "auto",
    "how local workers start: auto (default), fork, spawn",
    owner=__name__,
)
LEAVE_GRACE = declare(
    "SLURM_SEARCH_LEAVE_GRACE",
    seconds(zero=True, way_out="give a number of seconds >= 0"),
    DEFAULT_LEAVE_GRACE,
    "seconds a trial has to suspend once its worker is told to leave (10)",
    owner=__name__,
)
WORKER_START_VARIABLE = WORKER_START.name
LEAVE_GRACE_VARIABLE = LEAVE_GRACE.name


def worker_start() -> str:
    """How local workers start: ``$SLURM_SEARCH_WORKER_START``, default ``auto``.

    Raises:
        InvalidEnvironmentSetting: not auto, fork or spawn.
    """
    return WORKER_START.get()


def leave_grace() -> float:
    """Seconds an objective has to checkpoint and suspend once its worker is told to leave.

    ``$SLURM_SEARCH_LEAVE_GRACE``, default 10; past them the worker hands the
    trial back itself and ends (a Slurm task uses the smaller of this and
    part of its margin).

    Raises:
        InvalidEnvironmentSetting: not a finite number >= 0.
    """
    return LEAVE_GRACE.get()
