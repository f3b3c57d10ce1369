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

sbatch, squeue and scancel are run with argument lists, never a shell. The
`SLURM_*` variables are read in `SlurmEnv.from_environ` only.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from slurm_search import locking, state
from slurm_search.locking import settings
from slurm_search.session import annotate, annotations, progress, work_on

from . import _slurm_script
from ._config import logs_dir
from ._errors import SlurmCommandError, SlurmNotFound, SubmissionError
from ._wait import finished

logger = logging.getLogger(__name__)

HOME_VARIABLE = settings.HOME_VARIABLE
TASK_MODULE = "slurm_search.session.workers._task"  # run by each array task
_COMMAND_TIMEOUT = 60.0
# The margin before the end time when none is given: a tenth of the job's
# time, between 5 s and 2 min (a worker needs it to finish or drop its trial
# and for one task to submit the next generation).
_MIN_MARGIN, _MAX_MARGIN = 5.0, 120.0


@dataclasses.dataclass(frozen=True)
class SlurmEnv:
    """What Slurm tells a job about itself, read from ``SLURM_*`` variables in one place.

    Attributes:
        job_id: this task's own job id (``SLURM_JOB_ID``).
        array_job_id: the array's id (``SLURM_ARRAY_JOB_ID``), or None.
        array_task_id: this task's index (``SLURM_ARRAY_TASK_ID``), or None.
        node: the node it runs on (``SLURMD_NODENAME``), or None.
    """

    job_id: str
    array_job_id: str | None = None
    array_task_id: str | None = None
    node: str | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> SlurmEnv | None:
        """The job's facts, or None outside a Slurm job."""
        env = os.environ if environ is None else environ
        job_id = env.get("SLURM_JOB_ID")
        if not job_id:
            return None
        return cls(
            job_id=job_id,
            array_job_id=env.get("SLURM_ARRAY_JOB_ID") or None,
            array_task_id=env.get("SLURM_ARRAY_TASK_ID") or None,
            node=env.get("SLURMD_NODENAME") or None,
        )

    @property
    def worker_id(self) -> str:
        """``<array job>_<task>`` (the name of its log files), else the job id."""
        if self.array_job_id and self.array_task_id is not None:
            return f"{self.array_job_id}_{self.array_task_id}"
        return self.job_id


def _command(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SlurmNotFound(name)
    return path


def available() -> bool:
    """True if ``sbatch`` is on PATH."""
    return shutil.which("sbatch") is not None


def _submission_env() -> dict[str, str]:
    # A job submitted from inside a job would inherit the submitter's SLURM_*
    # variables (sbatch exports the environment); they describe the old job
    # and confuse the new one, so they are dropped; slurm-search's own
    # SLURM_SEARCH_* settings are kept.
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("SLURM_") or key.startswith("SLURM_SEARCH_")
    }


def parse_parsable(output: str) -> str:
    """The job id in ``sbatch --parsable`` output (``"1234"`` or ``"1234;cluster"``).

    Raises:
        SubmissionError: the output holds no job id.
    """
    first = output.strip().splitlines()[-1:] or [""]
    job_id = first[0].split(";")[0].strip()
    if not job_id.isdigit():
        raise SubmissionError(["sbatch", "--parsable"], 0, f"no job id in sbatch's answer: {output.strip()!r}")
    return job_id


def sbatch(script: Path) -> str:
    """Submit a batch script with ``sbatch --parsable``; return the job id.

    Raises:
        SlurmNotFound: no sbatch on PATH.
        SubmissionError: sbatch failed; the message quotes what it said.
    """
    argv = [_command("sbatch"), "--parsable", str(script)]
    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=_COMMAND_TIMEOUT, env=_submission_env(), check=False
        )
    except subprocess.TimeoutExpired as err:
        raise SubmissionError(argv, -1, f"no answer in {_COMMAND_TIMEOUT:.0f} s") from err
    if proc.returncode != 0:
        raise SubmissionError(argv, proc.returncode, (proc.stderr or proc.stdout).strip())
    try:
        return parse_parsable(proc.stdout)
    except SubmissionError as err:
        raise SubmissionError(argv, proc.returncode, err.output) from None


def scancel(job_ids: Sequence[str]) -> None:
    """Cancel jobs, arrays or array tasks (``"12_3"``); finished ones are no error.

    Raises:
        SlurmNotFound: no scancel on PATH.
    """
    if not job_ids:
        return
    argv = [_command("scancel"), *map(str, job_ids)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=_COMMAND_TIMEOUT, check=False)
    if proc.returncode != 0:
        # scancel complains about jobs that already left the queue; that is
        # the state we want, so it is only logged.
        logger.info("scancel %s: %s", " ".join(job_ids), (proc.stderr or proc.stdout).strip())


def queued(job_ids: Sequence[str]) -> list[str]:
    """The parts (``"12_0"``, ``"12_[1-3]"``) of these jobs that squeue still lists.

    One squeue per job: squeue refuses a whole list when slurmctld has
    forgotten one of its ids.
    """
    found: list[str] = []
    for job_id in job_ids:
        argv = [_command("squeue"), "-h", "-o", "%i", "-j", str(job_id)]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=_COMMAND_TIMEOUT, check=False)
        if proc.returncode != 0:
            if "Invalid job id" in proc.stderr:
                continue  # forgotten by slurmctld: finished long ago
            raise SlurmCommandError(argv, proc.returncode, proc.stderr.strip())
        found += [line.strip() for line in proc.stdout.splitlines() if line.strip()]
    return found


def task_states(job_ids: Sequence[str]) -> list[dict[str, str]]:
    """What slurmctld still knows of these jobs' tasks: one dict per task.

    Keys as ``scontrol -o show job`` prints them (``JobId``, ``ArrayTaskId``,
    ``JobState``, ``ExitCode``, ``BatchHost``, ``NodeList``, ``StdErr``...).
    Jobs it has forgotten (``MinJobAge`` after their end) are left out.
    """
    path = shutil.which("scontrol")
    tasks: list[dict[str, str]] = []
    if path is None:
        return tasks
    for job_id in job_ids:
        try:
            proc = subprocess.run(
                [path, "-o", "show", "job", str(job_id)], capture_output=True, text=True, timeout=_COMMAND_TIMEOUT
            )
        except subprocess.TimeoutExpired:
            continue
        if proc.returncode != 0:
            continue
        for line in proc.stdout.splitlines():
            fields = dict(item.split("=", 1) for item in line.split() if "=" in item)
            if fields.get("JobId"):
                tasks.append(fields)
    return tasks


def failed_at_start(name: str, job_ids: Sequence[str]) -> str | None:
    """One line when every task of these jobs ended FAILED, else None.

    Called by the launcher when the session's jobs left the queue and the
    session made no progress: the usual cause is a store the nodes cannot
    see (the tasks cannot even write there to say so), so the line quotes
    Slurm's view (states, exit codes, nodes) and, if this host can read one,
    a task's error file.
    """
    tasks = task_states(job_ids)
    if not tasks or any(task.get("JobState") not in ("FAILED", "NODE_FAIL", "BOOT_FAIL") for task in tasks):
        return None
    nodes = sorted({task.get("BatchHost") or task.get("NodeList") or "?" for task in tasks} - {"(null)"})
    codes = sorted({task.get("ExitCode", "?") for task in tasks})
    said = ""
    for task in tasks:
        try:
            lines = [ln.strip() for ln in Path(task.get("StdErr", "")).read_text().splitlines() if ln.strip()]
        except (OSError, ValueError):
            continue
        if lines:
            said = f"; task {task.get('JobId')} said: {lines[-1]}"
            break
    try:
        root = str(state.root())
    except Exception:  # noqa: BLE001
        root = settings.home_key()[0] or "?"
    return (
        f"all {len(tasks)} Slurm tasks (job {', '.join(map(str, job_ids))}) failed at start "
        f"(exit {', '.join(codes)} on {', '.join(nodes) or '?'}) and the session did not progress: "
        f"the store {root} is probably not visible on those nodes; put {HOME_VARIABLE} on a filesystem "
        f"shared with every compute node (each task's error is in its .err file as the node sees it){said}"
    )


def _parse_end_time(text: str) -> float | None:
    text = text.strip()
    try:
        # Slurm prints local time without a zone, as naive ISO 8601.
        return _dt.datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None  # "N/A", "Unknown", "" (no time limit)


def job_end_time(job_id: str) -> float | None:
    """When Slurm will stop the job (epoch seconds), or None if it has no end.

    Asks ``squeue -o %e``, then ``scontrol show job`` if squeue cannot tell.
    """
    for argv, pick in (
        (["squeue", "-h", "-j", job_id, "-o", "%e"], lambda out: out.strip()),
        (
            ["scontrol", "-o", "show", "job", job_id],
            lambda out: dict(f.split("=", 1) for f in out.split() if "=" in f).get("EndTime", ""),
        ),
    ):
        path = shutil.which(argv[0])
        if path is None:
            continue
        try:
            proc = subprocess.run([path, *argv[1:]], capture_output=True, text=True, timeout=_COMMAND_TIMEOUT)
        except subprocess.TimeoutExpired:
            continue
        if proc.returncode == 0:
            end = _parse_end_time(pick(proc.stdout))
            if end is not None:
                return end
    return None


def default_margin(start: float, end: float) -> float:
    """Seconds before the end at which to stop claiming trials (see module doc)."""
    return min(_MAX_MARGIN, max(_MIN_MARGIN, (end - start) / 10.0))


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
    text = _slurm_script.batch_script(
        worker_command(name, generation),
        logs=str(logs),
        job_name=f"ssearch-{state.split(name)[1]}",
        tasks=workers,
        environment={HOME_VARIABLE: str(state.root().resolve())},
        **options,
    )
    script = logs / f"generation_{generation}.sbatch"
    script.write_text(text)
    job_id = sbatch(script)
    jobs = list(annotations(name).get("slurm_jobs", []))
    annotate(name, "slurm_jobs", [*jobs, job_id])
    annotate(name, "slurm_generation", generation)
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
    _command("sbatch")
    with locking.lock(_lock_name(name)):
        generation = int(annotations(name).get("slurm_generation", -1)) + 1
        annotate(
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
        jobs = [str(job) for job in annotations(name).get("slurm_jobs", [])]
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
        notes = annotations(name)
        settings = notes.get("slurm") or {}
        current = int(notes.get("slurm_generation", -1))
        if current != generation:
            logger.info("%s: generation %d already handed over (now %d)", name, generation, current)
            return None
        now = progress(name)
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
    it), and the worker stops claiming new trials.
    """
    env = env if env is not None else SlurmEnv.from_environ()
    # host:slurm-JOB_TASK: a trial's owner says which node ran it.
    worker_id = f"{socket.gethostname()}:slurm-{env.worker_id}" if env else None
    end = job_end_time(env.job_id) if env else None
    deadline = None
    timer = None
    if end is not None:
        margin = (annotations(name).get("slurm") or {}).get("run", {}).get("margin")
        deadline = end - (float(margin) if margin is not None else default_margin(time.time(), end))
        timer = threading.Timer(max(0.0, deadline - time.time()), _hand_over_quietly, (name, generation))
        timer.daemon = True
        timer.start()
        logger.info("%s: generation %d, working until %s", name, generation, time.ctime(deadline))
    try:
        report = work_on(name, deadline=deadline, worker_id=worker_id)
    finally:
        if timer is not None:
            timer.cancel()
    if report.reason == "deadline":
        # work_on also stops before the deadline when the next trial would
        # not fit; hand_over does nothing if the session is finished or
        # another task already handed over.
        _hand_over_quietly(name, generation)


def _hand_over_quietly(name: str, generation: int) -> None:
    try:
        hand_over(name, generation)
    except Exception:  # noqa: BLE001 - a timer thread must log, not die silently
        logger.exception("%s: could not submit generation %d", name, generation + 1)
