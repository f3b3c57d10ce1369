"""Objectives that checkpoint every step, for the Slurm checkpoint tests and bench/bench_cuts.py.

Importable by the Slurm jobs: the tests put this folder on the PYTHONPATH
that the launcher (and through sbatch, every array task) inherits.

`stepper` runs `context["steps"]` steps of `context["sleep"]` seconds each,
saves a checkpoint after every step, and suspends as soon as its worker is
told to leave. Each executed step appends one line to `context["log"]` (a
file in the shared folder): ``tid step attempt host t0 t1``, so a test counts
the steps run (redone work included) and sees where each attempt started.
"""

from __future__ import annotations

import os
import socket
import time
from typing import NamedTuple

from slurm_search import session


def value(x: float, step: int) -> float:
    """One step's contribution: deterministic in the trial's parameter and the step."""
    return (x - 0.01 * step) ** 2


def uninterrupted(x: float, steps: int) -> float:
    """The result of a trial run without a cut (the same float operations in the same order)."""
    acc = 0.0
    for step in range(steps):
        acc += value(x, step)
    return acc


def stepper(params: dict, context: dict) -> float:
    """Sleep-and-add steps from the newest checkpoint; suspend when told to leave."""
    steps, sleep, log = int(context["steps"]), float(context["sleep"]), context.get("log")
    trial = session.current_trial()
    ckpt = session.load_checkpoint()
    step, acc = (0, 0.0) if ckpt is None else (ckpt["step"], ckpt["acc"])
    while step < steps:
        t0 = time.time()
        time.sleep(sleep)
        acc += value(params["x"], step)
        if log:
            line = f"{trial.tid} {step} {trial.attempt} {socket.gethostname()} {t0:.3f} {time.time():.3f}\n"
            fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line.encode())
            finally:
                os.close(fd)
        step += 1
        session.report(acc, step)
        session.save_checkpoint({"step": step, "acc": acc}, step=step)
        if session.should_stop():
            session.suspend()
    return acc


class Step(NamedTuple):
    """One executed step, as the step log has it."""

    tid: int
    step: int
    attempt: int
    host: str
    start: float
    end: float


def read_steps(log: str | os.PathLike[str]) -> dict[int, list[Step]]:
    """tid -> its executed steps in the order they ran (a torn last line is skipped)."""
    steps: dict[int, list[Step]] = {}
    try:
        text = open(log).read()  # noqa: SIM115 - read once, whole
    except FileNotFoundError:
        return steps
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 6:
            continue
        step = Step(int(parts[0]), int(parts[1]), int(parts[2]), parts[3], float(parts[4]), float(parts[5]))
        steps.setdefault(step.tid, []).append(step)
    return steps


def attempts(steps: list[Step]) -> list[list[Step]]:
    """A trial's steps split by attempt, in the order the attempts ran."""
    runs: list[list[Step]] = []
    for step in steps:
        if not runs or runs[-1][-1].attempt != step.attempt:
            runs.append([])
        runs[-1].append(step)
    return runs


def leaver(params: dict, context: dict) -> float:
    """Saves a checkpoint, is told to leave (as by a signal), and suspends; done on its next attempt."""
    if session.load_checkpoint() is not None:
        return params["x"]
    session.save_checkpoint({"step": 1}, step=1)
    session.request_leave("told to leave by the test")
    session.suspend()
