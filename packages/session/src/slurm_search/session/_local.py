"""Workers as local processes: N ``ssearch work_on SESSION`` on this machine.

Each worker's output and errors go to the session's ``logs/`` folder as
``cpu_<launcher pid>_<i>.out`` / ``.err`` (what ``ssearch logs`` shows). The
workers inherit this process's environment, so they use the same store
(``SLURM_SEARCH_HOME``).
"""

from __future__ import annotations

import logging
import os
import subprocess

from ._launch_errors import WorkersFailed
from ._config import logs_dir, ssearch_command
from ._wait import finished, wait_for

logger = logging.getLogger(__name__)


def start_workers(name: str, workers: int, *, detach: bool = False) -> list[subprocess.Popen]:
    """Start ``workers`` processes of ``ssearch work_on NAME``.

    Args:
        name: the session (``type:name``).
        workers: how many processes.
        detach: start them in a session of their own, so they outlive this
            process and its terminal's Ctrl-C.

    Returns:
        The processes, running.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    logs = logs_dir(name)
    stem = f"cpu_{os.getpid()}"
    procs = []
    for i in range(workers):
        worker_id = f"{stem}_{i}"
        argv = [*ssearch_command(), "-v", "work_on", name, "--worker-id", worker_id]
        with open(logs / f"{worker_id}.out", "ab") as out, open(logs / f"{worker_id}.err", "ab") as err:
            procs.append(
                subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=detach)
            )
    logger.info("%s: started %d local workers (%s_*)", name, workers, stem)
    return procs


def wait_workers(name: str, procs: list[subprocess.Popen], *, show: bool = True):
    """Wait for local workers until the session is finished or they all ended.

    Returns:
        The session's last progress.

    Raises:
        WorkersFailed: every worker ended and the session is not finished.
    """
    try:
        progress = wait_for(name, lambda: any(proc.poll() is None for proc in procs), show=show)
        if not finished(progress):
            codes = [proc.wait() for proc in procs]
            raise WorkersFailed(name, f"exit codes {codes}; see `ssearch logs {name}`")
        # The session is finished; the workers notice at their next claim.
        for proc in procs:
            proc.wait()
        return progress
    finally:
        # Interrupted (Ctrl-C, an error): do not leave orphans behind.
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
