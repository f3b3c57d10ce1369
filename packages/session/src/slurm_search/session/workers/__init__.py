"""slurm_search.session.workers: run a session's workers and manage sessions from a shell.

The layer above the session core (`slurm_search.session`): `launch` runs
workers inline, as local processes or as Slurm job arrays (handing over to a
new array at the time limit), each an `Executor` found by its method word
(`methods`, `executor_for`; a user's own joins through the entry-point group
``slurm_search.executors``), `cancel` stops a session and its Slurm jobs,
`session_types` are the registered kinds of session that ``ssearch start``
creates, and `main` is the ``ssearch`` command. It imports only the core's
public names; the core never imports it.
"""

from __future__ import annotations

from ._config import MAX_WORKERS
from ._errors import (
    BadSessionParameters,
    BadSlurmOption,
    LaunchError,
    SlurmCommandError,
    SlurmNotFound,
    SubmissionError,
    UnknownSessionType,
    UnknownSlurmOption,
    WorkersFailed,
    WorkersLeft,
)
from ._executor import Executor, Launched
from ._executors import (
    EXECUTORS_GROUP,
    InlineExecutor,
    LocalExecutor,
    LocalLaunched,
    SlurmExecutor,
    SlurmLaunched,
    executor_for,
    methods,
)
from ._launch import Plan, cancel, launch, plan
from ._registry import session_types
from ._slurm_script import check_slurm_options


def main(argv: list[str] | None = None) -> None:
    """The ``ssearch`` command (its console script): run it with ``argv`` (default: ``sys.argv[1:]``)."""
    # Imported here: the click commands are not part of the library's import.
    from ._cli import main as cli_main

    cli_main(argv)


__all__ = [
    "BadSessionParameters",
    "BadSlurmOption",
    "EXECUTORS_GROUP",
    "Executor",
    "InlineExecutor",
    "LaunchError",
    "Launched",
    "LocalExecutor",
    "LocalLaunched",
    "MAX_WORKERS",
    "Plan",
    "SlurmCommandError",
    "SlurmExecutor",
    "SlurmLaunched",
    "SlurmNotFound",
    "SubmissionError",
    "UnknownSessionType",
    "UnknownSlurmOption",
    "WorkersFailed",
    "WorkersLeft",
    "cancel",
    "check_slurm_options",
    "executor_for",
    "launch",
    "main",
    "methods",
    "plan",
    "session_types",
]
