"""Objectives of the trial-checkpoint tests (imported by real worker processes).

`stepper` is a deterministic "training": `steps` steps, each adding
`x * (step + 1)` to an accumulator, reporting it and sleeping `sleep`
seconds; it saves a checkpoint every `every` steps and, told to leave, saves
one and suspends. Each executed step is appended to `log` as
`pid tid attempt step`, so a test counts the work done and redone.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from slurm_search import session


def expected(x: float, steps: int) -> float:
    """The uninterrupted result of `stepper`."""
    acc = 0.0
    for step in range(steps):
        acc += x * (step + 1)
    return -acc


def _log(context: dict, step: int) -> None:
    trial = session.current_trial()
    if context.get("log"):
        with open(context["log"], "a") as f:
            f.write(f"{os.getpid()} {trial.tid} {trial.attempt} {step}\n")


def stepper(params, context):
    steps, every, sleep = context.get("steps", 20), context.get("every", 1), context.get("sleep", 0.05)
    saved = session.load_checkpoint()
    start, acc = (0, 0.0) if saved is None else (saved["step"], saved["acc"])
    for step in range(start, steps):
        _log(context, step)
        acc += params["x"] * (step + 1)
        session.report(-acc, step)
        time.sleep(sleep)
        try:
            if (step + 1) % every == 0 or session.should_stop():
                session.save_checkpoint({"step": step + 1, "acc": acc}, step=step)
        except session.LeaseLost:
            if context.get("lost"):
                Path(context["lost"]).write_text(f"{os.getpid()} lost at step {step}\n")
            raise
        if session.should_stop() and step + 1 < steps:
            session.suspend()
    return -acc


def never_looks(params, context):
    """Runs `sleep` seconds without a checkpoint or a look at should_stop()."""
    _log(context, 0)
    time.sleep(context.get("sleep", 60))
    return params["x"]


def two_then_suspend(params, context):
    """First call: checkpoints at steps 1 and 2, then suspends. Later: the step it resumed from."""
    saved = session.load_checkpoint()
    if saved is not None:
        return float(saved["step"])
    session.save_checkpoint({"step": 1}, step=1)
    session.save_checkpoint({"step": 2}, step=2)
    session.request_leave("a test")  # the worker claims nothing more
    session.suspend()


def misuses(params, context):
    """Each checkpoint mistake, caught: the trial goes on; returns what each raised."""
    seen = {}
    for label, call in (
        ("unpicklable", lambda: session.save_checkpoint(lambda: None)),
        ("too_big", lambda: session.save_checkpoint(b"x" * 5000)),
        ("bad_step", lambda: session.save_checkpoint(1, step=-1)),
    ):
        try:
            call()
            seen[label] = "saved"
        except session.CheckpointError as err:
            seen[label] = str(err)
    seen["kept"] = session.save_checkpoint({"ok": True})
    return {"loss": 0.0, "seen": seen}


def folder_form(params, context):
    """Writes files into a checkpoint folder; resumed, returns what it reads back."""
    saved = session.load_checkpoint()
    if saved is not None:
        return {"loss": 1.0, "read": (Path(saved) / "weights.bin").read_bytes().decode(), "is_dir": Path(saved).is_dir()}
    with session.checkpoint_folder(step=3) as folder:
        (folder / "weights.bin").write_bytes(b"w" * 10)
        (folder / "sub").mkdir()
        (folder / "sub" / "opt.bin").write_bytes(b"o" * 7)
    session.request_leave("a test")
    session.suspend()


def full_store(params, context):
    """A checkpoint bigger than the store's free space, then a small one."""
    try:
        session.save_checkpoint(os.urandom(context["size"]))
        error = ""
    except session.CheckpointError as err:
        error = str(err)
    return {"loss": 0.0, "error": error, "after": session.save_checkpoint({"small": 1})}
