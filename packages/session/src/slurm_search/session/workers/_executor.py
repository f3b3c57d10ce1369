"""`Executor`: the contract every launch method keeps, and `Launched`, what one started.

A launch method (``inline``, ``cpu``, ``slurm``, or one of the user's own,
see `_executors`) is an `Executor`. The launch code (`_launch`) and the
``ssearch`` command know only this class, never a method by its name.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar

from slurm_search import session as core


@dataclasses.dataclass
class Launched:
    """What an executor started.

    An executor with more to say (a Slurm job id, the local processes)
    returns a subclass with those fields.

    Attributes:
        name: the session.
        method: the executor's method word (``inline``, ``cpu``, ``slurm``...).
        workers: how many workers were started (at most as many as asked).
        executor: the executor that started them (its `wait` is used).
        progress: the session's progress when `launch` returned after
            waiting, else None.
    """

    name: str
    method: str
    workers: int
    executor: Executor = dataclasses.field(repr=False, compare=False)
    progress: Any = None

    def wait(self, show: bool = True) -> Any:
        """Wait until the session is finished; return its progress (see `Executor.wait`).

        Raises:
            WorkersFailed: every worker ended and the session is not finished.
        """
        self.progress = self.executor.wait(self, show=show)
        return self.progress

    def summary(self) -> str | None:
        """What was started beyond the count, in one line for the user (None: nothing to add)."""
        return None


class Executor(abc.ABC):
    """Runs a session's workers somewhere: the promise every launch method keeps.

    Each worker runs the session core's `work_on` loop (claim a trial,
    evaluate it, report) until the session needs no more work; workers
    change the session only through the core, so a session started by one
    executor can be restarted by any other. An executor is used in steps,
    so that a mistake leaves nothing behind:

    1. `check` (from `plan`, before a session is created or changed) checks
       the number of workers and this method's options and raises
       `InvalidSetting` or a `LaunchError` (``SlurmNotFound``...); it writes
       nothing.
    2. `start` launches up to W workers on an existing session and returns a
       `Launched` whose ``workers`` says how many started. It returns at
       once unless ``in_process`` (the work runs in the calling process:
       then it returns when the session is finished, ``progress`` set).
       Errors: `UnknownSession`, a `LaunchError` when the workers cannot be
       started (``SubmissionError`` quoting Slurm...).
    3. `wait` blocks until the session is finished (done, stopped or
       failed) and returns its progress, showing progress on stderr when
       asked. When every worker has ended and the session is not finished it
       raises `WorkersFailed` (`WorkersLeft` when they were told to leave),
       saying where their logs are.
    4. A user's Ctrl-C (`KeyboardInterrupt`) during `start` or `wait`
       propagates. Workers that live only as long as the caller
       (``detached`` false) end with it, never left as orphans, and the
       caller then calls `interrupted`, which marks the session stopped (so
       it is listed stopped at once and ``ssearch restart`` continues it).
       ``detached`` workers (Slurm jobs) go on; `interrupted` leaves them.

    Subclasses set ``name`` (the method word; a user's executor is found by
    its entry point's name in the group ``slurm_search.executors``) and
    implement `start` and `wait`; an executor is built with no arguments.
    """

    #: The method word (``--method=NAME``, a sampling node's ``method``).
    name: ClassVar[str] = ""
    #: Workers outlive the launching process: a Ctrl-C leaves them running.
    detached: ClassVar[bool] = False
    #: The work runs in the calling process: `start` returns when it is done.
    in_process: ClassVar[bool] = False
    #: What the user calls the workers, in messages ("its workers go on").
    workers_noun: ClassVar[str] = "workers"
    #: Whether the ``ssearch`` command waits when not told (``--wait``).
    waits_by_default: ClassVar[bool] = True

    def default_workers(self) -> int:
        """How many workers when none are asked for (default: 1)."""
        return 1

    def check(self, workers: int, options: Mapping[str, object] | None) -> dict[str, Any]:
        """Check the settings of a launch before anything is written; return the options to launch with.

        Args:
            workers: how many workers, already a whole number from 1 to `MAX_WORKERS`.
            options: this method's options as given (Slurm's; others ignore them).

        Raises:
            InvalidSetting: a number of workers this method cannot start.
            LaunchError: the method cannot run here or an option is wrong.
        """
        return {}

    @abc.abstractmethod
    def start(self, name: str, workers: int, options: Mapping[str, Any], *, wait: bool) -> Launched:
        """Start up to ``workers`` workers on session ``name``.

        Args:
            options: what `check` returned.
            wait: the caller waits next (workers may then end with it); else
                they must outlive it.
        """

    @abc.abstractmethod
    def wait(self, launched: Launched, show: bool = True) -> Any:
        """Wait until the session is finished and return its progress (see the class)."""

    def interrupted(self, name: str) -> None:
        """The caller was interrupted while starting or waiting: stop the session unless ``detached``.

        Raises:
            SessionError: the session could not be marked stopped.
        """
        if not self.detached:
            core.stop(name)
