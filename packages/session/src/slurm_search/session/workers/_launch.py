"""`launch`: run a session's workers inline, as local processes or on Slurm.

The launch settings are kept in the session's annotations (key ``launch``),
so ``ssearch restart`` can launch the same workers again.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

from slurm_search import session as core

from . import _local, _slurm, _slurm_commands, _slurm_script
from ._config import resolve_method, resolve_workers, worker_start
from ._errors import SlurmNotFound, WorkersFailed
from ._local import Worker
from ._wait import finished, wait_for

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class Launched:
    """What `launch` started.

    Attributes:
        name: the session.
        method: ``inline``, ``cpu`` or ``slurm``.
        workers: how many workers were started (locally: at most one per trial left).
        job_id: the first array's job id (``slurm``), else None.
        processes: the local worker processes (``cpu``), else empty.
        progress: the session's progress when `launch` returned after
            waiting, else None.
    """

    name: str
    method: str
    workers: int
    job_id: str | None = None
    processes: list[Worker] = dataclasses.field(default_factory=list)
    progress: Any = None
    settled_at_start: int | None = None

    def wait(self, show: bool = True) -> Any:
        """Wait until the session is finished; return its progress.

        Raises:
            WorkersFailed: every worker (every Slurm job of the session) ended
                and the session is not finished.
        """
        if self.method == "cpu":
            self.progress = _local.wait_workers(self.name, self.processes, show=show)
        elif self.method == "slurm":
            self.progress = wait_for(self.name, lambda: bool(_slurm_jobs_queued(self.name)), show=show)
            if not finished(self.progress):
                raise WorkersFailed(self.name, self._slurm_failure())
        else:
            self.progress = core.progress(self.name)
        return self.progress

    def _slurm_failure(self) -> str:
        """Why the session's Slurm jobs ended before it was done, in one line."""
        settled = _settled(self.progress)
        jobs = [str(job) for job in core.annotations(self.name).get("slurm_jobs", [])]
        if self.settled_at_start is not None and settled <= self.settled_at_start and jobs:
            # Nothing done: maybe no task could even see the store. Slurm says how they ended.
            why = _slurm_commands.failed_at_start(self.name, jobs[-1:])
            if why is not None:
                return why
        return f"its Slurm jobs ended; see `ssearch logs {self.name}`"


def _settled(progress: Any) -> int:
    return int(getattr(progress, "completed", 0) or 0) + int(getattr(progress, "failed", 0) or 0)


def _slurm_jobs_queued(name: str) -> list[str]:
    # Read each time: a new generation adds its job while we wait.
    return _slurm_commands.queued(list(core.annotations(name).get("slurm_jobs", [])))


@dataclasses.dataclass(frozen=True)
class Plan:
    """Checked launch settings: where workers run, how many, with which Slurm options.

    Made by `plan` before anything is written, so a mistake in them leaves
    no session behind; `launch` starts the workers.
    """

    method: str
    workers: int
    options: dict = dataclasses.field(default_factory=dict)

    def launch(self, name: str, wait: bool = True, show_progress: bool = True) -> Launched:
        """Start the workers on session ``name`` (see `launch`)."""
        before = core.progress(name)  # UnknownSession before anything starts
        core.annotate(name, "launch", {"method": self.method, "workers": self.workers, "slurm": dict(self.options)})
        launched = Launched(name, self.method, self.workers, settled_at_start=_settled(before))
        if self.method == "inline":
            core.work_on(name)
            launched.progress = core.progress(name)
        elif self.method == "cpu":
            # A local worker beyond one per trial left would only start, find
            # nothing to claim and leave: not started (`launched.workers` says so).
            left = max(1, before.max_evals - _settled(before) - int(getattr(before, "pruned", 0) or 0))
            if left < self.workers:
                logger.info("%s: starting %d workers, not %d: %d trials left", name, left, self.workers, left)
                launched.workers = left
            launched.processes = _local.start_workers(name, launched.workers, detach=not wait)
        else:
            launched.job_id = _slurm.submit(name, self.workers, self.options)
        if wait:
            launched.wait(show=show_progress)
        return launched


def plan(method: str | None = None, workers: int | None = None, slurm: Mapping[str, object] | None = None) -> Plan:
    """Resolve and check launch settings (see `launch` for the arguments and errors).

    Slurm options given with another method are ignored (the caller may
    refuse them instead).
    """
    method = resolve_method(method)
    workers = resolve_workers(method, workers)
    if method == "cpu":
        worker_start(None)  # a bad SLURM_SEARCH_WORKER_START, before anything is written
    options = _slurm_script.normalise_options(slurm) if method == "slurm" else {}
    if method == "slurm" and not _slurm_commands.available():
        raise SlurmNotFound("sbatch")
    return Plan(method, workers, options)


def launch(
    name: str,
    method: str | None = None,
    workers: int | None = None,
    slurm: Mapping[str, object] | None = None,
    wait: bool = True,
    show_progress: bool = True,
) -> Launched:
    """Run workers on a session.

    Args:
        name: the session (``type:name``).
        method: ``inline`` (this process), ``cpu`` (local ``ssearch work_on``
            processes), ``slurm`` (an sbatch array of ``ssearch
            generational_work_on``); None: Slurm if sbatch is found, else cpu.
        workers: how many workers (default: 1 inline, the CPU count for cpu,
            4 on Slurm).
        slurm: Slurm options (``partition``, ``time``, ``gres``, ``mem``,
            ``cpus_per_task``, ``exclude``, ``account``, ``qos``,
            ``constraint``, ``extra``..., and ``generations``, ``margin``);
            only with method slurm.
        wait: wait until the session is finished (always, inline).
        show_progress: while waiting, show progress on stderr.

    Returns:
        What was started; ``.progress`` is set when it waited.

    Raises:
        InvalidSetting: a bad method or number of workers.
        UnknownSlurmOption: a Slurm option not in the list (which it gives).
        SlurmNotFound: method slurm and no sbatch here.
        SubmissionError: sbatch refused the job (quoted).
        WorkersFailed: the workers ended before the session was finished.
    """
    checked = plan(method, workers, slurm)
    if slurm and checked.method != "slurm":
        logger.warning("%s: Slurm options ignored with method %s", name, checked.method)
    return checked.launch(name, wait=wait, show_progress=show_progress)


def cancel(name: str) -> list[str]:
    """Stop a session and cancel its Slurm jobs; return the ids of those still queued.

    The session is stopped first, so a worker claims nothing more and a
    generation being handed over is not submitted. Local worker processes
    see the stop and end after their current trial.

    Raises:
        UnknownSession: no such session.
        SlurmNotFound: the session has Slurm jobs and scancel is not here
            (the session is stopped all the same).
    """
    core.stop(name)
    if not core.annotations(name).get("slurm_jobs"):
        return []
    return _slurm.cancel(name)
