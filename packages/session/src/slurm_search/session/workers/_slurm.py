"""Workers on Slurm: job arrays, generations, cancellation.

A session runs on Slurm as an array job of ``ssearch generational_work_on``
tasks. Each task works until the job's end time minus a margin; if trials
remain then, exactly one task submits the next generation (same options) —
the session's Slurm lock and the generation counter kept in the session's
annotations make sure of that — until the configured number of generations
is reached. Trials cut off by the time limit come back through their expired
leases, so no trial is lost.

Annotations written on the session:
  ``slurm``: the launch settings (script options, run options, workers).
  ``slurm_generation``: the generation of the last submitted array (0-based).
  ``slurm_jobs``: the array job ids, oldest first.

Slurm's commands themselves are run by `_slurm_commands`.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator, Mapping

from slurm_search import locking, state
from slurm_search import session as core

from . import _slurm_script
from ._config import logs_dir
from ._slurm_commands import HOME_VARIABLE, SlurmEnv, command_path, job_end_time, queued, sbatch, scancel
from ._wait import finished

logger = logging.getLogger(__name__)

TASK_MODULE = "slurm_search.session.workers._task"  # run by each array task
# The margin before the end time when none is given: a tenth of the job's
# time, between 5 s and 2 min (a worker needs it to finish or drop its trial
# and for one task to submit the next generation).
_MIN_MARGIN, _MAX_MARGIN = 5.0, 120.0


def default_margin(start: float, end: float) -> float:
    """Seconds before the end at which to stop claiming trials (see module doc)."""
    return min(_MAX_MARGIN, max(_MIN_MARGIN, (end - start) / 10.0))


def default_signal(time_limit: object, margin: object) -> str:
    """``B:USR1@SECONDS``: Slurm's warning, the margin before the time limit.

    The margin is the run's (`--slurm:margin`), else the default one for the
    job's `--slurm:time` (60 s when it is not given). Slurm may send the
    signal up to a minute early; the worker also leaves at its own deadline
    (the end time minus the margin), so the signal is the fallback for a
    time limit that changed, and SIGTERM covers preemption.
    """
    if margin is None:
        seconds = _slurm_script.time_seconds(time_limit) if time_limit is not None else None
        margin = default_margin(0.0, float(seconds)) if seconds else 60.0
    return f"B:USR1@{max(1, round(float(margin)))}"  # type: ignore[arg-type]  # checked: a number


def worker_command(name: str, generation: int) -> list[str]:
    """The argv of one array task: this interpreter's ``ssearch generational_work_on``.

    It starts with `_task.main` (``python -m slurm_search.session.workers._task``),
    which first checks that the node sees the session in its store (else one
    line on stderr and exit status 2, see `store_problem`), then runs
    ``ssearch -v generational_work_on NAME --generation G``.
    """
    return [sys.executable, "-m", TASK_MODULE, name, str(generation)]


def _lock_name(name: str) -> str:
    # A lock of its own rather than the session's: the session API takes the
    # session's lock inside annotate/progress, and locks are not reentrant.
    return f"{name}.slurm"


def submit_generation(name: str, generation: int, workers: int, options: Mapping[str, object]) -> str:
    """Write the batch script of one generation, submit it, record the job id.

    The caller holds the session's Slurm lock (`submit` and the generational
    hand-over do).

    Args:
        name: the session.
        generation: 0 for the first array, then 1, 2...
        workers: array tasks.
        options: checked script options (`batch_script` keywords).

    Returns:
        The array's job id.
    """
    logs = logs_dir(name)
    options = dict(options)
    if options.get("signal") is None:
        margin = (core.annotations(name).get("slurm") or {}).get("run", {}).get("margin")
        options["signal"] = default_signal(options.get("time"), margin)
    text = _slurm_script.batch_script(
        worker_command(name, generation),
        logs=str(logs),
        job_name=f"ssearch-{state.split(name)[1]}",
        tasks=workers,
        environment={HOME_VARIABLE: str(state.root().resolve())},
        **options,  # type: ignore[arg-type]  # checked by normalise_options
    )
    script = logs / f"generation_{generation}.sbatch"
    script.write_text(text)
    job_id = sbatch(script)
    jobs = list(core.annotations(name).get("slurm_jobs", []))
    core.annotate(name, "slurm_jobs", [*jobs, job_id])
    core.annotate(name, "slurm_generation", generation)
    logger.info("%s: generation %d submitted as job %s (%d tasks)", name, generation, job_id, workers)
    return job_id


def submit(name: str, workers: int, options: Mapping[str, object] | None = None) -> str:
    """Start a session's first generation on Slurm; return the array's job id.

    Args:
        name: the session.
        workers: array tasks.
        options: Slurm options (see `_slurm_script.valid_options`).

    Raises:
        UnknownSlurmOption: an option not in the list.
        SlurmNotFound: no sbatch.
        SubmissionError: sbatch refused the job.
    """
    checked = _slurm_script.normalise_options(options)
    script_options, run_options = _slurm_script.split_options(checked)
    command_path("sbatch")
    with locking.lock(_lock_name(name)):
        generation = int(core.annotations(name).get("slurm_generation", -1)) + 1
        core.annotate(
            name,
            "slurm",
            {"workers": workers, "options": script_options, "run": run_options, "first_generation": generation},
        )
        return submit_generation(name, generation, workers, script_options)


def cancel(name: str) -> list[str]:
    """Cancel every Slurm job of a session; return the ids cancelled.

    Taken under the Slurm lock, so a generation being handed over at the same
    time is either cancelled here or not submitted (the session is stopped
    first by the caller).
    """
    with locking.lock(_lock_name(name)):
        jobs = [str(job) for job in core.annotations(name).get("slurm_jobs", [])]
        live = {part.split("_")[0] for part in queued(jobs)}
        # Every recorded job, not only those squeue listed a moment ago:
        # cancelling a finished job is harmless, missing a live one is not.
        scancel(jobs)
        return [job for job in jobs if job in live]


def hand_over(name: str, generation: int) -> str | None:
    """Submit the next generation if trials remain and nobody did it already.

    Called by each task of generation ``generation`` when it reaches its
    deadline; the first one in submits generation ``generation + 1``, the
    others find the counter already moved.

    Returns:
        The new job id, or None if nothing was submitted.
    """
    with locking.lock(_lock_name(name)):
        notes = core.annotations(name)
        settings = notes.get("slurm") or {}
        current = int(notes.get("slurm_generation", -1))
        if current != generation:
            logger.info("%s: generation %d already handed over (now %d)", name, generation, current)
            return None
        now = core.progress(name)
        if finished(now):
            return None
        limit = int(settings.get("run", {}).get("generations") or 1)
        used = generation + 1 - int(settings.get("first_generation", 0))
        if used >= limit:
            logger.warning("%s: not continuing after %d generations (generations=%d)", name, used, limit)
            return None
        return submit_generation(name, generation + 1, int(settings.get("workers", 1)), settings.get("options", {}))


def generational_work_on(name: str, generation: int, env: SlurmEnv | None = None) -> None:
    """The body of one array task: work until the deadline, then hand over.

    The deadline is the job's end time minus the margin. At the deadline a
    timer hands over (so a long trial cannot make the whole generation miss
    it), and the worker stops claiming new trials. SIGTERM (preemption,
    `scancel`) and SIGUSR2 make it leave at once; Slurm's warning signal
    (SIGUSR1) makes it look at the job's end time again (see `_Deadline`).
    """
    env = env if env is not None else SlurmEnv.from_environ()
    # host:slurm-JOB_TASK: a trial's owner says which node ran it.
    worker_id = f"{socket.gethostname()}:slurm-{env.worker_id}" if env else None
    end = job_end_time(env.job_id) if env else None
    deadline = None
    keeper = None
    grace = core.leave_grace()
    leave_signals: bool | tuple[int, ...] = True
    if end is not None and env is not None:
        margin = (core.annotations(name).get("slurm") or {}).get("run", {}).get("margin")
        margin = float(margin) if margin is not None else default_margin(time.time(), end)
        deadline = end - margin
        # The objective has part of the margin to checkpoint and suspend;
        # then the worker hands the trial back itself, before Slurm kills it.
        grace = min(grace, slurm_leave_grace(margin))
        keeper = _Deadline(name, generation, env.job_id, margin, end)
        leave_signals = (signal.SIGUSR2, signal.SIGTERM)  # SIGUSR1: see _Deadline
        logger.info("%s: generation %d, working until %s", name, generation, time.ctime(deadline))
    try:
        with keeper.on_warning() if keeper is not None else contextlib.nullcontext():
            report = core.work_on(
                name, deadline=deadline, worker_id=worker_id, leave_signals=leave_signals, leave_grace=grace
            )
    finally:
        if keeper is not None:
            keeper.stop()
    if report.reason in ("deadline", "leave"):
        # work_on also stops before the deadline when the next trial would
        # not fit; hand_over does nothing if the session is finished or
        # another task already handed over.
        _hand_over_quietly(name, generation)


class _Deadline:
    """A task's own deadline (the job's end minus the margin), and Slurm's warning signal.

    At the deadline a timer asks the running trial to leave and hands over
    to the next generation (`_at_deadline`).

    Slurm sends the warning signal (`--signal=B:USR1@MARGIN`) up to a minute
    early: its timer resolution. Measured on the test cluster, a 1-minute job
    with ``B:USR1@6`` got it 36 s in, 24 s early; taken as "leave now", each
    such job would lose about half its time, and a job shorter than a minute
    might make no progress at all. So a task that knows its end time takes
    SIGUSR1 as "look at the end time again": it leaves at once only if that
    end (minus the margin) is now, a time limit lowered meanwhile, or if it
    cannot be read; otherwise the timer moves to the new deadline, if any.
    """

    def __init__(self, name: str, generation: int, job_id: str, margin: float, end: float) -> None:
        self.name, self.generation, self.job_id, self.margin = name, generation, job_id, margin
        self.deadline = end - margin
        self._timer: threading.Timer | None = None
        self._warned = threading.Event()
        self._stopped = False
        self._arm()
        self._watcher = threading.Thread(target=self._watch, name=f"slurm-warning {name}", daemon=True)
        self._watcher.start()

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._stopped:  # the worker is done: no hand-over after it
            return
        self._timer = threading.Timer(max(0.0, self.deadline - time.time()), _at_deadline, (self.name, self.generation))
        self._timer.daemon = True
        self._timer.start()

    @contextlib.contextmanager
    def on_warning(self) -> Iterator[None]:
        """While the block runs, SIGUSR1 wakes the watcher (no I/O in the handler)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.signal(signal.SIGUSR1, lambda _signum, _frame: self._warned.set())
        try:
            yield
        finally:
            signal.signal(signal.SIGUSR1, previous)

    def _watch(self) -> None:
        while True:
            self._warned.wait()
            if self._stopped:
                return
            self._warned.clear()
            end = job_end_time(self.job_id)
            if end is None or end - self.margin <= time.time() + 1.0:
                why = "its end time cannot be read" if end is None else "its time limit is near"
                logger.warning("%s: Slurm's warning signal, and %s: leaving now", self.name, why)
                if self._timer is not None:
                    self._timer.cancel()
                _at_deadline(self.name, self.generation)
                return
            if abs(end - self.margin - self.deadline) >= 1.0:
                self.deadline = end - self.margin
                self._arm()
                logger.info("%s: the job's end time moved: working until %s", self.name, time.ctime(self.deadline))
            else:
                logger.info("%s: Slurm's warning signal came %.0f s before this task's deadline: working on until then",
                            self.name, self.deadline - time.time())

    def stop(self) -> None:
        self._stopped = True
        self._warned.set()
        if self._timer is not None:
            self._timer.cancel()


def slurm_leave_grace(margin: float) -> float:
    """At most 60% of the margin: the trial is handed back before Slurm kills the job."""
    return 0.6 * margin


def _at_deadline(name: str, generation: int) -> None:
    """The job's end is a margin away: hand over, and tell the running trial to checkpoint and leave."""
    core.request_leave("the job's time limit is near")
    _hand_over_quietly(name, generation)


def _hand_over_quietly(name: str, generation: int) -> None:
    try:
        hand_over(name, generation)
    except Exception:  # noqa: BLE001 - a timer thread must log, not die silently
        logger.exception("%s: could not submit generation %d", name, generation + 1)
