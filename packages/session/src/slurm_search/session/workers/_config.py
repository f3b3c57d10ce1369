"""Where workers run and with what, resolved in one place.

The worker command, the session's log folder, the launch method and the
number of workers are decided here from the arguments and the environment,
then passed down explicitly.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from slurm_search import state
from slurm_search.session import InvalidSetting, settings

METHODS = ("inline", "cpu", "slurm")
# What a worker logs, and how: `ssearch -v work_on` and a forked worker alike.
LOG_FORMAT = "%(asctime)s %(name)s %(levelname)s: %(message)s"
# Array tasks when none are asked for; a count, not a property of a cluster.
DEFAULT_SLURM_WORKERS = 4
# The most workers one launch starts. More local processes than this swamp
# any machine, and Slurm's default MaxArraySize (1001) refuses a larger array.
MAX_WORKERS = 1000


def ssearch_command() -> list[str]:
    """This interpreter's ``ssearch``: the script beside it, else ``python -m``."""
    script = Path(sys.executable).parent / "ssearch"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "slurm_search.session.workers._cli"]


def logs_dir(name: str) -> Path:
    """``<root>/<type>/<name>/logs``, created on demand with the store's mode; a link there is refused."""
    return state.subdir(name, "logs")


def resolve_method(method: str | None) -> str:
    """``inline``, ``cpu`` or ``slurm``; ``None``/``auto``: Slurm if sbatch is found, else cpu.

    Raises:
        InvalidSetting: another method name.
    """
    if method in (None, "", "auto"):
        return "slurm" if shutil.which("sbatch") else "cpu"
    if method not in METHODS:
        raise InvalidSetting("method", method, " or ".join(METHODS))
    return method


def resolve_workers(method: str, workers: int | None) -> int:
    """The number of workers: as given, else 1 inline, the CPU count locally, 4 on Slurm.

    Raises:
        InvalidSetting: not a whole number from 1 to `MAX_WORKERS`.
    """
    if workers is None:
        return {"inline": 1, "cpu": os.cpu_count() or 1}.get(method, DEFAULT_SLURM_WORKERS)
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= MAX_WORKERS:
        raise InvalidSetting("workers", workers, f"a whole number >= 1 and <= {MAX_WORKERS:,}")
    if method == "inline" and workers != 1:
        raise InvalidSetting("workers", workers, "1 with method inline (use cpu or slurm for more)")
    return workers


def worker_start(start: str | None) -> str:
    """How local workers start: ``start``, else ``$SLURM_SEARCH_WORKER_START``, else ``auto``.

    Raises:
        InvalidSetting: ``start`` is not one of auto, fork, spawn.
        InvalidEnvironmentSetting: nor is the variable.
    """
    if start is None:
        return settings.worker_start()
    if start not in settings.WORKER_STARTS:
        raise InvalidSetting("worker start", start, ", ".join(settings.WORKER_STARTS))
    return start
