"""The objective of the RL PBT test: one real A2C training per member, with
the member's hyperparameters; each process appends ``pid frames`` (the
frames it trained: environment steps outside the test episodes) to
``$RL_PBT_FRAMES`` when a call ends, however it ends (an exploit too)."""

from __future__ import annotations

import os

from slurm_search import rl

FRAMES_VARIABLE = "RL_PBT_FRAMES"


def member(params, context):
    """run_results of A2C on CartPole with the member's lr and entropy_loss_scaling; minus its mean return."""
    from all.environments import GymEnvironment
    from all.experiments import ParallelEnvExperiment

    original, original_test = GymEnvironment.step, ParallelEnvExperiment.test
    count, testing = [0], [False]

    def step(self, action):
        count[0] += 0 if testing[0] else 1
        return original(self, action)

    def test(self, *args, **kwargs):
        testing[0] = True
        return original_test(self, *args, **kwargs)

    GymEnvironment.step, ParallelEnvExperiment.test = step, test
    try:
        hp = {"lr": params["lr"], "entropy_loss_scaling": params["entropy_loss_scaling"]}
        result = rl.run_results("classic:CartPole-v1", "classic:a2c", hp, context["run"], context["seed"])
    finally:
        GymEnvironment.step, ParallelEnvExperiment.test = original, original_test
        path = os.environ.get(FRAMES_VARIABLE)
        if path:
            with open(path, "a") as out:
                out.write(f"{os.getpid()} {count[0]}\n")
    return {"loss": -result["return_mean"], **result}
