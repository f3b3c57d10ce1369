"""The launch methods: inline, local processes and Slurm, and the registry that finds them.

The registry is the one list of method words: ``--method``, a sampling
node's ``method`` and the error messages all read `methods`. The built-ins
are registered here; a user's own executor joins through the entry-point
group ``slurm_search.executors`` (name: the method word, value: an
`Executor` subclass), for example in its ``pyproject.toml``::

    [project.entry-points."slurm_search.executors"]
    mycluster = "mypkg.executors:MyClusterExecutor"
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import shutil
import sys
from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Any

from slurm_search import session as core
from slurm_search.session import InvalidSetting

from . import _local, _slurm, _slurm_commands, _slurm_script
from ._config import MAX_WORKERS, worker_start
from ._errors import LaunchError, SlurmNotFound, WorkersFailed
from ._executor import Executor, Launched
from ._local import Worker
from ._wait import finished, wait_for

logger = logging.getLogger(__name__)

EXECUTORS_GROUP = "slurm_search.executors"
# Array tasks when none are asked for; a count, not a property of a cluster.
DEFAULT_SLURM_WORKERS = 4


def _settled(progress: Any) -> int:
    return int(getattr(progress, "completed", 0) or 0) + int(getattr(progress, "failed", 0) or 0)


class InlineExecutor(Executor):
    """``inline``: one worker, this process; `start` returns when the session is finished."""

    name = "inline"
    in_process = True

    def check(self, workers: int, options: Mapping[str, object] | None) -> dict[str, Any]:
        if workers != 1:
            raise InvalidSetting("workers", workers, "1 with method inline (use cpu or slurm for more)")
        return {}

    def start(self, name: str, workers: int, options: Mapping[str, Any], *, wait: bool) -> Launched:
        core.work_on(name)
        return Launched(name, self.name, 1, self, progress=core.progress(name))

    def wait(self, launched: Launched, show: bool = True) -> Any:
        return core.progress(launched.name)


@dataclasses.dataclass
class LocalLaunched(Launched):
    """What `LocalExecutor` started: ``processes``, the local worker processes."""

    processes: list[Worker] = dataclasses.field(default_factory=list)


class LocalExecutor(Executor):
    """``cpu``: local ``ssearch work_on`` processes (forked or spawned, see `worker_start`).

    At most one worker per trial left is started: another would only start,
    find nothing to claim and leave. When the caller waits, the workers end
    with it (no orphans).
    """

    name = "cpu"

    def default_workers(self) -> int:
        return os.cpu_count() or 1

    def check(self, workers: int, options: Mapping[str, object] | None) -> dict[str, Any]:
        worker_start(None)  # a bad SLURM_SEARCH_WORKER_START, before anything is written
        return {}

    def start(self, name: str, workers: int, options: Mapping[str, Any], *, wait: bool) -> Launched:
        before = core.progress(name)
        left = max(1, before.max_evals - _settled(before) - int(getattr(before, "pruned", 0) or 0))
        if left < workers:
            logger.info("%s: starting %d workers, not %d: %d trials left", name, left, workers, left)
            workers = left
        processes = _local.start_workers(name, workers, detach=not wait)
        return LocalLaunched(name, self.name, workers, self, processes=processes)

    def wait(self, launched: Launched, show: bool = True) -> Any:
        if not isinstance(launched, LocalLaunched):
            raise TypeError(f"{self.name} waits only for what it started, not {type(launched).__name__}")
        return _local.wait_workers(launched.name, launched.processes, show=show)


@dataclasses.dataclass
class SlurmLaunched(Launched):
    """What `SlurmExecutor` started: ``job_id``, the first array's job id."""

    job_id: str | None = None
    settled_at_start: int | None = None

    def summary(self) -> str | None:
        return f"submitted Slurm job {self.job_id} ({self.workers} tasks)"


class SlurmExecutor(Executor):
    """``slurm``: an sbatch array of ``ssearch generational_work_on``, handed over to a new array at the time limit.

    Options: the Slurm options of `_slurm_script.valid_options`. The jobs
    outlive the caller (``detached``): a Ctrl-C leaves them running.
    """

    name = "slurm"
    detached = True
    workers_noun = "Slurm jobs"
    waits_by_default = False

    def default_workers(self) -> int:
        return DEFAULT_SLURM_WORKERS

    def check(self, workers: int, options: Mapping[str, object] | None) -> dict[str, Any]:
        checked = _slurm_script.normalise_options(options)
        if not _slurm_commands.available():
            raise SlurmNotFound("sbatch")
        return checked

    def start(self, name: str, workers: int, options: Mapping[str, Any], *, wait: bool) -> Launched:
        settled = _settled(core.progress(name))
        job_id = _slurm.submit(name, workers, options)
        return SlurmLaunched(name, self.name, workers, self, job_id=job_id, settled_at_start=settled)

    def wait(self, launched: Launched, show: bool = True) -> Any:
        name = launched.name
        # Read each time: a new generation adds its job while we wait.
        progress = wait_for(
            name, lambda: bool(_slurm_commands.queued(list(core.annotations(name).get("slurm_jobs", [])))), show=show
        )
        if not finished(progress):
            raise WorkersFailed(name, self._failure(launched, progress))
        return progress

    def _failure(self, launched: Launched, progress: Any) -> str:
        """Why the session's Slurm jobs ended before it was done, in one line."""
        at_start = launched.settled_at_start if isinstance(launched, SlurmLaunched) else None
        jobs = [str(job) for job in core.annotations(launched.name).get("slurm_jobs", [])]
        if at_start is not None and _settled(progress) <= at_start and jobs:
            # Nothing done: maybe no task could even see the store. Slurm says how they ended.
            why = _slurm_commands.failed_at_start(launched.name, jobs[-1:])
            if why is not None:
                return why
        return f"its Slurm jobs ended; see `ssearch logs {launched.name}`"


BUILT_IN: dict[str, type[Executor]] = {
    executor.name: executor for executor in (InlineExecutor, LocalExecutor, SlurmExecutor)
}


def _registered() -> dict[str, Any]:
    return _scan(tuple(sys.path))


@functools.lru_cache(maxsize=4)
def _scan(path: tuple[str, ...]) -> dict[str, Any]:
    # Cached per sys.path: a sampling node checks its method each time it is
    # bound, and reading every installed package's metadata takes milliseconds.
    # A plug-in cannot take a built-in's word: `--method=slurm` always means Slurm.
    return {ep.name: ep for ep in entry_points(group=EXECUTORS_GROUP) if ep.name not in BUILT_IN}


def methods() -> tuple[str, ...]:
    """Every launch method's word: ``inline``, ``cpu``, ``slurm``, then those registered by entry points."""
    return (*BUILT_IN, *sorted(_registered()))


def executor_for(method: str) -> Executor:
    """The executor of a method word (not ``auto``: see `resolve_method`).

    Raises:
        InvalidSetting: no such method; the message names every method.
        LaunchError: a registered executor does not load or is not an `Executor`.
    """
    if method in BUILT_IN:
        return BUILT_IN[method]()
    found = _registered().get(method)
    if found is None:
        raise InvalidSetting("method", method, " or ".join(methods()))
    try:
        made = found.load()
    except Exception as err:  # any error in a plug-in's import: say which
        raise LaunchError(f"executor {method} ({found.value}) does not load: {type(err).__name__}: {err}") from None
    if not (isinstance(made, type) and issubclass(made, Executor)):
        raise LaunchError(f"executor {method} ({found.value}) is not a subclass of Executor")
    return made()


def resolve_method(method: str | None) -> str:
    """A method word as given; ``None``/``auto``: ``slurm`` if sbatch is found, else ``cpu``.

    Raises:
        InvalidSetting: no such method; the message names every method.
    """
    if method in (None, "", "auto"):
        return "slurm" if shutil.which("sbatch") else "cpu"
    if not isinstance(method, str) or method not in methods():
        raise InvalidSetting("method", method, " or ".join(methods()))
    return method


def resolve_workers(chosen: Executor, workers: int | None) -> int:
    """The number of workers: as given, else the executor's default (1 inline, the CPU count locally, 4 on Slurm).

    Raises:
        InvalidSetting: not a whole number from 1 to `MAX_WORKERS`.
    """
    if workers is None:
        return chosen.default_workers()
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= MAX_WORKERS:
        raise InvalidSetting("workers", workers, f"a whole number >= 1 and <= {MAX_WORKERS:,}")
    return workers
