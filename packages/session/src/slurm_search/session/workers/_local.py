"""Workers as local processes: N workers on ``SESSION`` on this machine.

A worker is started one of two ways:

- ``fork``: a copy of this process (``os.fork``) that runs `work_on` and
  exits. It shares everything this process has imported (hyperopt, the
  experiment's modules), so it claims its first trial within milliseconds
  instead of after a second or two of imports; that is what makes a short
  experiment's wall time that of its trials (bench/README.md, "rl").
- ``spawn``: a fresh ``ssearch work_on SESSION`` process.

``auto`` (the default; ``SLURM_SEARCH_WORKER_START`` chooses otherwise)
forks only when forking is safe: this process runs one Python thread, holds
no lock of ``slurm_search.locking``, has not imported torch (whose thread
pools do not survive a fork) and the workers are not detached (a detached
worker outlives us, so it starts from a clean interpreter). Else it spawns.

Each worker's output and errors go to the session's ``logs/`` folder as
``cpu_<launcher pid>_<i>.out`` / ``.err`` (what ``ssearch logs`` shows).
The workers inherit this process's environment, so they use the same store
(``SLURM_SEARCH_HOME``).
"""

from __future__ import annotations

import logging
import os
import select
import signal
import subprocess
import sys
import threading
import traceback
from pathlib import Path
from typing import NoReturn, Protocol

from slurm_search.locking import held_locks
from slurm_search.session import leave_grace, work_on

from ._config import LOG_FORMAT, logs_dir, ssearch_command, worker_start
from ._errors import WorkersFailed, WorkersLeft
from ._wait import finished, wait_for

logger = logging.getLogger(__name__)

# How often an idle forked worker looks whether the last trials ended: a
# launcher that waits for its workers waits this long for the last of them.
IDLE_POLL = 0.05


class Worker(Protocol):
    """What `start_workers` returns: ``subprocess.Popen`` or a `ForkedWorker`."""

    pid: int
    returncode: int | None

    def poll(self) -> int | None: ...
    def wait(self) -> int: ...
    def terminate(self) -> None: ...


class ForkedWorker:
    """A forked worker process, with ``subprocess.Popen``'s poll/wait/terminate."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def _reaped(self, flags: int) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, flags)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def poll(self) -> int | None:
        return self._reaped(os.WNOHANG)

    def wait(self) -> int:
        code = self._reaped(0)
        assert code is not None
        return code

    def terminate(self) -> None:
        if self.poll() is None:
            os.kill(self.pid, signal.SIGTERM)


def fork_is_safe(detach: bool) -> str | None:
    """None when forking a worker from this process is safe, else why not."""
    if detach:
        return "detached workers start from a clean interpreter"
    if threading.active_count() > 1:
        return f"this process runs {threading.active_count()} threads"
    if held_locks():
        return f"this thread holds locks {sorted(held_locks())}"
    if "torch" in sys.modules:
        return "torch is imported (its thread pools do not survive a fork)"
    return None


def start_workers(name: str, workers: int, *, detach: bool = False, start: str | None = None) -> list[Worker]:
    """Start ``workers`` worker processes on session ``name``.

    Args:
        name: the session (``type:name``).
        workers: how many processes.
        detach: start them in a session of their own, so they outlive this
            process and its terminal's Ctrl-C.
        start: ``fork``, ``spawn`` or ``auto`` (default: the environment's
            ``SLURM_SEARCH_WORKER_START``, else auto; see the module's doc).

    Returns:
        The processes, running.

    Raises:
        InvalidSetting: a bad ``start``.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    start = worker_start(start)
    unsafe = fork_is_safe(detach)
    if start == "auto":
        start = "spawn" if unsafe else "fork"
        if unsafe:
            logger.debug("%s: spawning workers, not forking: %s", name, unsafe)
    elif start == "fork" and unsafe:
        logger.warning("%s: forking workers although %s", name, unsafe)
    logs = logs_dir(name)
    stem = f"cpu_{os.getpid()}"
    procs: list[Worker] = []
    for i in range(workers):
        worker_id = f"{stem}_{i}"
        out, err = logs / f"{worker_id}.out", logs / f"{worker_id}.err"
        if start == "fork":
            procs.append(_fork(name, worker_id, out, err, detach))
        else:
            procs.append(_spawn(name, worker_id, out, err, detach))
    logger.info("%s: started %d local workers (%s_*, %s)", name, workers, stem, start)
    return procs


def _spawn(name: str, worker_id: str, out: Path, err: Path, detach: bool) -> subprocess.Popen:
    argv = [*ssearch_command(), "-v", "work_on", name, "--worker-id", worker_id]
    with open(out, "ab") as stdout, open(err, "ab") as stderr:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, start_new_session=detach)


def _fork(name: str, worker_id: str, out: Path, err: Path, detach: bool) -> ForkedWorker:
    # What is buffered now would be written twice, once by each process.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    pid = os.fork()
    if pid:
        return ForkedWorker(pid)
    _forked_worker(name, worker_id, out, err, detach)


def _forked_worker(name: str, worker_id: str, out: Path, err: Path, detach: bool) -> NoReturn:
    """The forked child: become a worker like ``ssearch -v work_on``, run, exit."""
    code = 1
    try:
        if detach:
            os.setsid()
        # The signal dispositions a new interpreter starts with.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        for fd, path, flags in (
            (0, os.devnull, os.O_RDONLY),
            (1, out, os.O_WRONLY | os.O_APPEND | os.O_CREAT),
            (2, err, os.O_WRONLY | os.O_APPEND | os.O_CREAT),
        ):
            opened = os.open(path, flags, 0o600)
            os.dup2(opened, fd)
            os.close(opened)
        # The launcher's sys.std* may not write to its descriptors (a
        # test runner's capture, a notebook's streams): the worker's do.
        sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the process's own streams
        sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
        logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, force=True)
        # Its launcher waits for every worker: when the last trial ends, the
        # idle ones notice within IDLE_POLL.
        work_on(name, worker_id=worker_id, idle_poll=IDLE_POLL, leave_signals=True, leave_grace=leave_grace())
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except KeyboardInterrupt:
        code = 128 + signal.SIGINT
    except BaseException:
        traceback.print_exc()
    finally:
        # Neither this process's atexit handlers nor its other buffers are
        # ours: leave without running them.
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _pause_until_exit(procs: list[Worker], seconds: float) -> None:
    """Sleep ``seconds``, or less if one of ``procs`` exits meanwhile."""
    fds = []
    try:
        for proc in procs:
            if proc.returncode is None:
                fds.append(os.pidfd_open(proc.pid))
        if fds:
            select.select(fds, [], [], seconds)
            return
    except (AttributeError, OSError):  # no pidfd_open (not Linux >= 5.3)
        pass
    finally:
        for fd in fds:
            os.close(fd)
    select.select([], [], [], seconds)


def wait_workers(name: str, procs: list[Worker], *, show: bool = True):
    """Wait for local workers until the session is finished or they all ended.

    Wakes up as soon as a worker exits: the worker that records a session's
    last result exits right away, so the wait ends with it.

    Returns:
        The session's last progress.

    Raises:
        WorkersFailed: every worker ended and the session is not finished.
    """
    try:
        progress = wait_for(
            name,
            lambda: any(proc.poll() is None for proc in procs),
            show=show,
            pause=lambda seconds: _pause_until_exit(procs, seconds),
        )
        if not finished(progress):
            codes = [proc.wait() for proc in procs]
            if all(code == 0 for code in codes):
                # A worker ends with status 0 before the session is done only when told to leave.
                raise WorkersLeft(name)
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
