"""`launch`: run a session's workers inline, as local processes or on Slurm.

The launch settings are kept in the session's annotations (key ``launch``),
so ``ssearch restart`` can launch the same workers again.
"""

from __future__ import annotations

import dataclasses
import logging
import subprocess
from collections.abc import Mapping
from typing import Any

from . import _local, _slurm, _slurm_script
from ._config import resolve_method, resolve_workers, worker_start
from ._launch_errors import SlurmNotFound, WorkersFailed
from ._wait import finished, wait_for

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class Launched:
    """What `launch` started.

    Attributes:
        name: the session.
        method: ``inline``, ``cpu`` or ``slurm``.
        workers: how many workers.
        job_id: the first array's job id (``slurm``), else None.
        processes: the local worker processes (``cpu``), else empty.
        progress: the session's progress when `launch` returned after
            waiting, else None.
    """

    name: str
    method: str
    workers: int
    job_id: str | None = None
    processes: list[subprocess.Popen] = dataclasses.field(default_factory=list)
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
            from slurm_search import session

            self.progress = session.progress(self.name)
        return self.progress

    def _slurm_failure(self) -> str:
        """Why the session's Slurm jobs ended before it was done, in one line."""
        from slurm_search import session

        settled = _settled(self.progress)
        jobs = [str(job) for job in session.annotations(self.name).get("slurm_jobs", [])]
        if self.settled_at_start is not None and settled <= self.settled_at_start and jobs:
            # Nothing done: maybe no task could even see the store. Slurm says how they ended.
            why = _slurm.failed_at_start(self.name, jobs[-1:])
            if why is not None:
                return why
        return f"its Slurm jobs ended; see `ssearch logs {self.name}`"


def _settled(progress: Any) -> int:
    return int(getattr(progress, "completed", 0) or 0) + int(getattr(progress, "failed", 0) or 0)


def _slurm_jobs_queued(name: str) -> list[str]:
    from slurm_search import session

    # Read each time: a new generation adds its job while we wait.
    return _slurm.queued(list(session.annotations(name).get("slurm_jobs", [])))


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
    from slurm_search import session

    method = resolve_method(method)
    workers = resolve_workers(method, workers)
    if method == "cpu":
        worker_start(None)  # a bad SLURM_SEARCH_WORKER_START, before anything is written
    options = _slurm_script.normalise_options(slurm) if method == "slurm" else {}
    if slurm and method != "slurm":
        logger.warning("%s: Slurm options ignored with method %s", name, method)
    if method == "slurm" and not _slurm.available():
        raise SlurmNotFound("sbatch")
    before = session.progress(name)  # UnknownSession before anything starts
    session.annotate(name, "launch", {"method": method, "workers": workers, "slurm": dict(options)})
    launched = Launched(name, method, workers, settled_at_start=_settled(before))
    if method == "inline":
        session.work_on(name)
        launched.progress = session.progress(name)
    elif method == "cpu":
        launched.processes = _local.start_workers(name, workers, detach=not wait)
    else:
        launched.job_id = _slurm.submit(name, workers, options)
    if wait:
        launched.wait(show=show_progress)
    return launched
