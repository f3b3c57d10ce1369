"""Where workers run and with what, resolved in one place.

The worker command, the session's log folder and how local workers start
are decided here from the arguments and the environment, then passed down
explicitly (the launch method and the number of workers: `_executors`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from slurm_search import state
from slurm_search.session import InvalidSetting, settings

# What a worker logs, and how: `ssearch -v work_on` and a forked worker alike.
LOG_FORMAT = "%(asctime)s %(name)s %(levelname)s: %(message)s"
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
