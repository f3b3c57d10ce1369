"""`launch`: run a session's workers with one of the registered executors (inline, local processes, Slurm...).

The launch settings are kept in the session's annotations (key ``launch``),
so ``ssearch restart`` can launch the same workers again.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping

from slurm_search import session as core

from . import _slurm
from ._executor import Executor, Launched
from ._executors import executor_for, resolve_method, resolve_workers

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Plan:
    """Checked launch settings: where workers run, how many, with which Slurm options.

    Made by `plan` before anything is written, so a mistake in them leaves
    no session behind; `launch` starts the workers.
    """

    method: str
    workers: int
    options: dict = dataclasses.field(default_factory=dict)

    @property
    def executor(self) -> Executor:
        """The executor of ``method``."""
        return executor_for(self.method)

    def launch(self, name: str, wait: bool = True, show_progress: bool = True) -> Launched:
        """Start the workers on session ``name`` (see `launch`)."""
        core.progress(name)  # UnknownSession before anything starts
        core.annotate(name, "launch", {"method": self.method, "workers": self.workers, "slurm": dict(self.options)})
        chosen = self.executor
        launched = chosen.start(name, self.workers, self.options, wait=wait)
        if wait and not chosen.in_process:
            launched.wait(show=show_progress)
        return launched


def plan(method: str | None = None, workers: int | None = None, slurm: Mapping[str, object] | None = None) -> Plan:
    """Resolve and check launch settings (see `launch` for the arguments and errors).

    Slurm options given with another method are ignored (the caller may
    refuse them instead).
    """
    method = resolve_method(method)
    chosen = executor_for(method)
    workers = resolve_workers(chosen, workers)
    options = chosen.check(workers, slurm)
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
            generational_work_on``), or a registered executor's word (see
            `methods`); None: Slurm if sbatch is found, else cpu.
        workers: how many workers (default: 1 inline, the CPU count for cpu,
            4 on Slurm).
        slurm: Slurm options (``partition``, ``time``, ``gres``, ``mem``,
            ``cpus_per_task``, ``exclude``, ``account``, ``qos``,
            ``constraint``, ``extra``..., and ``generations``, ``margin``);
            only with method slurm.
        wait: wait until the session is finished (always, inline).
        show_progress: while waiting, show progress on stderr.

    Returns:
        What was started (a `Launched`, the executor's own subclass:
        ``.job_id`` on Slurm, ``.processes`` locally); ``.progress`` is set
        when it waited.

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
