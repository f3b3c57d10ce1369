"""Slurm's commands, run with argument lists (never a shell): sbatch, squeue, scancel, sacct, scontrol.

Also where this process learns about its own job: the `SLURM_*` variables
are read in `SlurmEnv.from_environ` only.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import logging
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from slurm_search import state
from slurm_search.locking import settings

from ._errors import SlurmCommandError, SlurmNotFound, SubmissionError

logger = logging.getLogger(__name__)

HOME_VARIABLE = settings.HOME_VARIABLE
_COMMAND_TIMEOUT = 60.0


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


def command_path(name: str) -> str:
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
    argv = [command_path("sbatch"), "--parsable", str(script)]
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
    argv = [command_path("scancel"), *map(str, job_ids)]
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
        argv = [command_path("squeue"), "-h", "-o", "%i", "-j", str(job_id)]
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
