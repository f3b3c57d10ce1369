"""pytest plugin: the real one-node Slurm cluster that the Slurm tests run on.

Load it from tests/conftest.py with ``pytest_plugins = ["slurm_fixtures"]``.
A test that needs Slurm asks for the session-scoped ``slurm_cluster`` fixture
and uses its methods, so it needs no import from this module::

    def test_array(slurm_cluster, tmp_path):
        job = slurm_cluster.submit(["--array=0-3", "--wrap", "true"], cwd=tmp_path)
        slurm_cluster.wait_for_job(job, timeout=120)

The fixture uses a cluster that already answers; otherwise it runs
``scripts/slurm-cluster.sh start`` once (installing Debian's packages the first
time, about a minute). If that cannot work (not root, no apt-get, the install
failed) the Slurm tests are skipped with the reason, or fail with it when
``SLURM_SEARCH_REQUIRE_SLURM=1`` so that CI never skips them silently. The
cluster is left running afterwards: the next run reuses it.

Accounting is off on that cluster (no ``sacct``): a job is finished when
``squeue`` no longer lists it, and ``scontrol show job`` keeps its final state
for MinJobAge (30 s) after that.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "slurm-cluster.sh"
REQUIRE_ENV = "SLURM_SEARCH_REQUIRE_SLURM"

# sinfo's short node states in which the node runs jobs ("comp": completing).
_USABLE = {"idle", "mix", "alloc", "comp"}
# A first start installs packages; a warm one takes seconds.
_START_TIMEOUT = 600.0
_COMMAND_TIMEOUT = 30.0


class SlurmCommandError(RuntimeError):
    """A Slurm command failed; ``str()`` quotes what it said.

    Attributes:
        argv: the command line.
        returncode: its exit status.
        output: its stderr (or stdout if stderr was empty), stripped.
    """

    def __init__(self, argv: list[str], returncode: int, output: str) -> None:
        super().__init__(f"{' '.join(argv)} exited with {returncode}: {output}")
        self.argv = argv
        self.returncode = returncode
        self.output = output


class JobWaitTimeout(TimeoutError):
    """A job was still queued or running when ``wait_for_job`` gave up.

    Attributes:
        job_id: the job waited for.
        waited: seconds waited.
        last_seen: the last ``squeue`` lines for it.
    """

    def __init__(self, job_id: str, waited: float, last_seen: str) -> None:
        super().__init__(f"job {job_id} still in squeue after {waited:.0f} s: {last_seen}")
        self.job_id = job_id
        self.waited = waited
        self.last_seen = last_seen


def _run(argv: list[str], *, timeout: float = _COMMAND_TIMEOUT, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False, **kwargs)


def _checked(argv: list[str], **kwargs) -> str:
    proc = _run(argv, **kwargs)
    if proc.returncode != 0:
        raise SlurmCommandError(argv, proc.returncode, (proc.stderr or proc.stdout).strip())
    return proc.stdout


def node_states() -> list[str]:
    """sinfo's state of each node (``idle``, ``mix``, ``down*``, ...); [] if Slurm does not answer."""
    try:
        proc = _run(["sinfo", "-h", "-N", "-o", "%t"], timeout=15)
    except (OSError, subprocess.TimeoutExpired):
        return []
    if proc.returncode != 0:
        return []
    return proc.stdout.split()


def cluster_is_up() -> bool:
    """True if sinfo answers and some node can run jobs."""
    return any(state in _USABLE for state in node_states())


def partitions() -> list[str]:
    """The partition names, the default one first (``["debug", "low", "short", "urgent"]`` here)."""
    names = _checked(["sinfo", "-h", "-o", "%P"]).split()
    # sinfo marks the default partition with a trailing '*'.
    default = [name.rstrip("*") for name in names if name.endswith("*")]
    return default + sorted({name for name in names if not name.endswith("*")} - set(default))


def submit(args: list[str], *, cwd: str | os.PathLike[str] | None = None, env: dict[str, str] | None = None) -> str:
    """Run ``sbatch --parsable ARGS`` and return the job id.

    The job sees ``env`` (default: this process's environment), since sbatch
    exports the submitting environment; it starts in ``cwd``.

    Raises:
        SlurmCommandError: sbatch refused the job; the message quotes it.
    """
    out = _checked(["sbatch", "--parsable", *args], cwd=cwd, env=env)
    # --parsable prints "jobid" or "jobid;cluster".
    return out.strip().split(";")[0]


def cancel(job_id: str, *, kill: bool = False) -> None:
    """``scancel`` a job, an array or one array task (``"12_3"``); a finished job is no error.

    ``kill``: first SIGKILL every process of the job (a lost worker). A plain
    ``scancel`` sends SIGTERM first, which a worker takes as a request to
    leave (it finishes or hands back its trial), and slurmctld turns
    ``scancel --signal=KILL`` into that same cancel.
    """
    if kill:
        for job in _run(["squeue", "-h", "-j", str(job_id), "-o", "%A"]).stdout.split():
            for line in _run(["scontrol", "listpids", job]).stdout.splitlines()[1:]:
                with contextlib.suppress(ProcessLookupError, ValueError, IndexError):
                    os.kill(int(line.split()[0]), signal.SIGKILL)
    _run(["scancel", str(job_id)])


def squeue_states(job_id: str) -> dict[str, str]:
    """The queued or running parts of a job: ``{"12_0": "RUNNING", "12_[2-3]": "PENDING"}``.

    Empty once the job (every task of an array) has left the queue.
    """
    proc = _run(["squeue", "-h", "-j", str(job_id), "-o", "%i %T"])
    if proc.returncode != 0:
        # squeue refuses an id that slurmctld has already forgotten.
        if "Invalid job id" in proc.stderr:
            return {}
        raise SlurmCommandError(["squeue", "-j", str(job_id)], proc.returncode, proc.stderr.strip())
    return dict(line.split(None, 1) for line in proc.stdout.splitlines() if line.strip())


def job_states(job_id: str) -> dict[str, str]:
    """Each task's state from ``scontrol show job``, finished ones too (for MinJobAge).

    Keys are ``"12"`` for a plain job and ``"12_3"`` for an array task; empty
    if slurmctld no longer knows the job.
    """
    proc = _run(["scontrol", "-o", "show", "job", str(job_id)])
    if proc.returncode != 0:
        return {}
    states: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        fields = dict(item.split("=", 1) for item in line.split() if "=" in item)
        if "ArrayJobId" in fields:
            key = f"{fields['ArrayJobId']}_{fields.get('ArrayTaskId', '?')}"
        else:
            key = fields.get("JobId", "?")
        states[key] = fields.get("JobState", "?")
    return states


def wait_for_job(job_id: str, timeout: float = 120.0, poll: float = 0.5) -> dict[str, str]:
    """Wait until a job (all tasks of an array, or one task ``"12_3"``) has left the queue.

    Returns:
        The final states as ``job_states`` sees them just after (may be empty
        if slurmctld has already forgotten the job).

    Raises:
        JobWaitTimeout: still queued or running after ``timeout`` seconds.
    """
    start = time.monotonic()
    last: dict[str, str] = {}
    while True:
        try:
            last = squeue_states(job_id)
        except (SlurmCommandError, subprocess.TimeoutExpired) as err:
            # A busy slurmctld can miss one answer; keep trying until timeout.
            logger.warning("squeue for job %s failed: %s", job_id, err)
            last = {"?": str(err)}
        if not last:
            return job_states(job_id)
        waited = time.monotonic() - start
        if waited > timeout:
            raise JobWaitTimeout(job_id, waited, ", ".join(f"{k} {v}" for k, v in last.items()))
        time.sleep(poll)


@dataclasses.dataclass(frozen=True)
class SlurmCluster:
    """The running local cluster, as the ``slurm_cluster`` fixture returns it.

    Attributes:
        partitions: partition names, the default first (``["debug", "low", "short", "urgent"]``).
        default_partition: the one sbatch uses without ``-p`` (``debug``:
            MaxTime 1 day). ``short`` has MaxTime 1 minute, for time limits.
    """

    partitions: list[str]
    default_partition: str

    CommandError = SlurmCommandError
    WaitTimeout = JobWaitTimeout

    submit = staticmethod(submit)
    cancel = staticmethod(cancel)
    wait_for_job = staticmethod(wait_for_job)
    squeue_states = staticmethod(squeue_states)
    job_states = staticmethod(job_states)


def _unavailable(reason: str) -> None:
    message = f"local Slurm cluster unavailable: {reason}"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{message} ({REQUIRE_ENV}=1, so this fails instead of skipping)", pytrace=False)
    pytest.skip(message)


def _start() -> None:
    """Run the start script; on failure, skip or fail with its last line."""
    logger.info("starting the local Slurm cluster: %s start", SCRIPT)
    try:
        proc = _run(["bash", str(SCRIPT), "start"], timeout=_START_TIMEOUT)
    except subprocess.TimeoutExpired:
        _unavailable(f"{SCRIPT} start did not finish in {_START_TIMEOUT:.0f} s")
        return
    except OSError as err:
        _unavailable(f"cannot run {SCRIPT}: {err}")
        return
    logger.info("%s", proc.stdout)
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        _unavailable(lines[-1] if lines else f"{SCRIPT} start exited with {proc.returncode}")


@pytest.fixture(scope="session")
def slurm_cluster() -> SlurmCluster:
    """A running one-node Slurm cluster (started if needed, left running)."""
    if not cluster_is_up():
        _start()
        if not cluster_is_up():
            _unavailable(f"{SCRIPT} start succeeded but sinfo shows no usable node: {node_states()}")
    names = partitions()
    return SlurmCluster(partitions=names, default_partition=names[0])


def pytest_configure(config: pytest.Config) -> None:
    # Declared in pyproject.toml too; repeated so the plugin works on its own.
    config.addinivalue_line("markers", "slurm: needs the local Slurm cluster (scripts/slurm-cluster.sh)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Every test that uses the cluster carries the marker, so `-m "not slurm"`
    # deselects it even if its module forgot `pytestmark`.
    for item in items:
        if "slurm_cluster" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slurm)
