"""``doctor``: is this store safe here, and why.

Prints the store's path, its filesystem as this host sees it, the lock mode
in force and why, ownership and modes, free space; then runs a live test:
two processes take turns on one object and one log of a scratch name, and
every update must be there. With ``--slurm`` the two processes run through
``srun`` on two nodes (or two tasks where the cluster has one node). Each
finding is one line; a problem's line says how to fix it. Exit status 0 only
when nothing is wrong.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import socket
import stat
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from slurm_search import locking

from . import _log, _names, _objects
from ._errors import StateError, UnsafeState
from ._files import check_safe

# Transactions and appends per process in the live test: enough that two
# processes that do not exclude each other collide, quick on a slow disk.
ROUNDS = 100
LOW_SPACE = 1 << 30  # bytes free below which the store may run out
SCRATCH_TYPE = "doctor"

logger = logging.getLogger(__name__)


@dataclass
class Report:
    """What doctor found: lines to print, and whether any is a problem."""

    lines: list[str] = field(default_factory=list)
    problems: int = 0

    def ok(self, text: str) -> None:
        self.lines.append(f"  ok       {text}")

    def info(self, text: str) -> None:
        self.lines.append(f"           {text}")

    def problem(self, text: str, fix: str) -> None:
        self.problems += 1
        self.lines.append(f"  PROBLEM  {text}: {fix}")


def examine(slurm: bool = False, slurm_args: Sequence[str] = (), rounds: int = ROUNDS) -> Report:
    """Examine the store at ``$SLURM_SEARCH_HOME`` (creating it if new)."""
    report = Report()
    root = _names.root()
    report.lines.append(f"store      {root}")
    locking.ensure_dir(root)
    fs = locking.mount_of(root)
    if fs is None:
        report.info("filesystem: unknown (no mount table)")
    else:
        report.info(f"filesystem: {fs.type} from {fs.source} mounted on {fs.mount_point}")
        report.info(f"options:    {','.join(o for o in fs.options if o)}")
    mode_ok = _lock_mode(report)
    _ownership(report, root)
    _space(report, root)
    if mode_ok:
        here = [sys.executable, "-m", "slurm_search.state"]
        _live(report, rounds, [here, here], "2 processes on this host")
        if slurm:
            _live_slurm(report, rounds, slurm_args)
    verdict = "safe" if report.problems == 0 else f"NOT safe: {report.problems} problem(s)"
    report.lines.append(f"verdict    {verdict}")
    return report


def _lock_mode(report: Report) -> bool:
    try:
        decision = locking.store_mode()
    except locking.LockError as err:
        report.problem("lock mode", str(err))
        return False
    if decision.mode == "flock" and decision.detected == "soft":
        report.problem(
            f"lock mode flock, forced on a filesystem whose locks may not exclude other "
            f"hosts ({decision.detected_reason})",
            "with no worker running: python -m slurm_search.state doctor --set-lock-mode soft",
        )
    else:
        report.ok(f"lock mode {decision.mode}: {decision.reason}")
    report.info(f"recorded in {decision.record} by {decision.recorded_by}")
    if decision.requested != "auto":
        report.info(f"SLURM_SEARCH_LOCK={decision.requested} here")
    if decision.mode == "soft":
        report.info(
            f"lease files: a killed holder delays the others {locking.soft_grace():g} s (SLURM_SEARCH_LOCK_GRACE)"
        )
    return True


def _ownership(report: Report, root: Path) -> None:
    folders = [root] + sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink())
    bad = 0
    for folder in folders:
        try:
            check_safe(folder, os.lstat(folder))
        except UnsafeState as err:
            bad += 1
            report.problem(f"{folder} is {err.reason}", err.fix)
    st = os.stat(root)
    if not bad:
        report.ok(
            f"owner uid {st.st_uid}, mode {stat.S_IMODE(st.st_mode):04o}; "
            f"{len(folders)} folders writable only by "
            + ("this user's group" if locking.group_shared() else "this user")
        )


def _space(report: Report, root: Path) -> None:
    usage = shutil.disk_usage(root)
    text = f"{usage.free / 2**30:.1f} GiB free of {usage.total / 2**30:.1f} GiB"
    if usage.free < LOW_SPACE:
        report.problem(f"only {text}", f"free space on the filesystem of {root}")
    else:
        report.ok(text)


def _scratch() -> str:
    host = "".join(c if c.isalnum() else "-" for c in socket.gethostname())[:40]
    return f"{SCRATCH_TYPE}:{host}-{os.getpid()}-{secrets.token_hex(3)}"


def _live(report: Report, rounds: int, commands: list[list[str]], where: str) -> None:
    name = _scratch()
    _objects.create(name, {"n": 0})
    try:
        procs = [
            subprocess.Popen(
                [*cmd, "_exclusion-worker", name, str(rounds)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for cmd in commands
        ]
        outputs = []
        for proc in procs:
            out, err = proc.communicate()
            outputs.append((proc.returncode, out, err))
        failed = [err.strip().splitlines()[-1] if err.strip() else f"exit {rc}" for rc, _, err in outputs if rc]
        hosts = sorted(
            {line.split()[1] for _, out, _ in outputs for line in out.splitlines() if line.startswith("host ")}
        )
        workers = sum(out.count("host ") for _, out, _ in outputs)
        if failed:
            report.problem(f"live test ({where}) failed", failed[0])
            return
        count = _objects.read(name)["n"]
        records = len(_log.records(name)[0])
        expected = workers * rounds
        text = f"live test, {where} ({', '.join(hosts)}): {count}/{expected} transactions, {records}/{expected} appends"
        if count == records == expected and workers == 2:
            report.ok(text)
        else:
            report.problem(
                text + " — updates were lost",
                "the lock does not exclude here: with no worker running, "
                "python -m slurm_search.state doctor --set-lock-mode soft",
            )
    finally:
        try:
            _objects.delete(name)
        except StateError:
            pass
        _remove_lock_files(name)


def _remove_lock_files(name: str) -> None:
    """The scratch name's lock files: no process uses the name again (it holds
    this pid and random bytes), so they would only pile up, one per run."""
    folder = locking.locks_dir()
    for path in (folder / f"{name}.lock", *folder.glob(f"{name}.*.lock")):
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as err:  # litter is not a reason to fail doctor
            logger.debug("could not remove %s: %s", path, err)


def _live_slurm(report: Report, rounds: int, slurm_args: Sequence[str]) -> None:
    if shutil.which("srun") is None:
        report.problem("--slurm: srun is not on the PATH", "run doctor on a login node of the cluster")
        return
    nodes = _idle_nodes(slurm_args)
    spread = ["--nodes=2", "--ntasks=2", "--ntasks-per-node=1"] if nodes >= 2 else ["--ntasks=2"]
    where = "2 Slurm tasks on 2 nodes" if nodes >= 2 else "2 Slurm tasks (the cluster offers one node)"
    command = ["srun", *spread, "--kill-on-bad-exit=1", *slurm_args, sys.executable, "-m", "slurm_search.state"]
    _live(report, rounds, [command], where)


def _idle_nodes(slurm_args: Sequence[str]) -> int:
    partition = [a for a in slurm_args if a.startswith(("--partition=", "-p"))]
    try:
        out = subprocess.run(
            ["sinfo", "--noheader", "--responding", "--format=%n %t", *partition],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return 0
    return len(
        {
            line.split()[0]
            for line in out.splitlines()
            if line.split()[1:2] and not line.split()[1].startswith(("down", "drain", "fail"))
        }
    )


def exclusion_worker(name: str, rounds: int) -> None:
    """One side of the live test: ``rounds`` transactions and appends on ``name``."""
    host = socket.gethostname()
    print(f"host {host}", flush=True)
    for i in range(rounds):
        with _objects.transaction(name, timeout=300) as box:
            box.value["n"] += 1
        _log.append(name, (host, os.getpid(), i), timeout=300)
