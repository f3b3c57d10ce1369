"""The objective of the RL checkpoint tests: one real ALL training per trial,
whose environment steps are counted.

Each attempt appends ``pid frames`` lines to ``$RL_CKPT_FRAMES``: every
``PROGRESS_EVERY`` environment steps it executes (so a test can cut it after
a few thousand), and once when it ends, however it ends (``pid frames
end``). ``context["leave_at"]`` (steps) asks the process's workers to leave
there, as Slurm's warning signal would, once per process.
"""

from __future__ import annotations

import os

from slurm_search import rl, session

FRAMES_VARIABLE = "RL_CKPT_FRAMES"
PROGRESS_EVERY = 500
_asked: list[int] = []


def _write(line: str) -> None:
    path = os.environ.get(FRAMES_VARIABLE)
    if path:
        with open(path, "a") as out:
            out.write(f"{os.getpid()} {line}\n")


def train(params, context):
    """run_results of ``context``'s agent and environment with the trial's seed; minus its mean return."""
    from all.environments import GymEnvironment

    original = GymEnvironment.step
    count = [0]
    leave_at = context.get("leave_at")

    def step(self, action):
        count[0] += 1
        if count[0] % PROGRESS_EVERY == 0:
            _write(str(count[0]))
        if leave_at is not None and count[0] == leave_at and not _asked:
            _asked.append(count[0])
            session.request_leave("the test asks the worker to leave")
        return original(self, action)

    GymEnvironment.step = step
    try:
        result = rl.run_results(context["env"], context["agent"], context.get("hp"), context["run"], params["seed"])
    finally:
        GymEnvironment.step = original
        _write(f"{count[0]} end")
    return {"loss": -result["return_mean"], **result}
