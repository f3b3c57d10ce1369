"""Training and testing one agent with the autonomous-learning-library.

This is the one module that imports torch and ALL; ``run_results`` imports it
only when a real agent runs, so importing ``slurm_search.rl`` stays cheap.

Reproducibility on the CPU: torch, numpy and Python's ``random`` are seeded,
each copy of the environment is reset once with ``seed + i`` (later resets
draw from the environment's seeded generator), and torch uses one thread
(parallel reductions may sum in a different order; one thread per run is also
what makes the workers of a machine share it fairly).
"""

from __future__ import annotations

import logging
import math
import random
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from all import presets
from all.environments import AtariEnvironment, DuplicateEnvironment, GymEnvironment
from all.experiments import ParallelEnvExperiment, SingleEnvExperiment
from all.logging import ExperimentLogger
from torch.utils.tensorboard import SummaryWriter

from ._hparams import coerce_hyperparameters
from ._names import AGENT_FAMILIES, AgentName, EnvName, RunParams

__all__ = ["REPORT_WINDOW", "train_and_test", "preset_defaults"]

# Intermediate reports are the mean return of this many last training episodes.
REPORT_WINDOW = 10

logger = logging.getLogger(__name__)


# Episode limits other than gymnasium's: MountainCar-v0's 200 steps are too
# few for an untrained agent to ever reach the flag (no reward signal), so
# the original ran it with 20,000, as we do.
EPISODE_LIMITS: dict[str, dict[str, Any]] = {"MountainCar-v0": {"max_episode_steps": 20_000}}


def preset_builder(agent: AgentName):
    """ALL's preset builder of a (checked) agent name."""
    return getattr(getattr(presets, AGENT_FAMILIES[agent.family]), agent.preset)


def preset_defaults(agent: AgentName) -> dict[str, Any]:
    """The preset's default hyperparameters."""
    return dict(preset_builder(agent).default_hyperparameters)


def _make_env(env: EnvName, device: str):
    if env.family == "atari":
        import ale_py  # noqa: F401  (registers the NoFrameskip-v4 ids)

        return AtariEnvironment(env.name, device=device)
    return GymEnvironment(env.name, device=device, **EPISODE_LIMITS.get(env.name, {}))


def _seed_env(env, seed: int) -> None:
    # ALL's Atari wrappers take no seed; the unwrapped environment seeds its
    # generator (and ALE's) and the wrappers draw from it.
    env.env.unwrapped.reset(seed=seed)
    env.env.action_space.seed(seed)


def _close(experiment) -> None:
    """Close an ALL experiment and its TensorBoard writer.

    ALL 0.9.1's ExperimentLogger (a SummaryWriter) overrides close() with a
    no-op, so each run would leave the writer's thread behind: one thread per
    trial in a worker that evaluates thousands.
    """
    experiment.close()
    writer = getattr(experiment, "_logger", None)
    if isinstance(writer, SummaryWriter):
        SummaryWriter.close(writer)


class _RunLogger(ExperimentLogger):
    """ALL's TensorBoard logger, writing into the folder it is given.

    ALL 0.9.1 always writes into ``<logdir>/<agent>_<env>_<timestamp>``; a
    run's folder is named by ``run_logdir`` instead (session, trial, seed).
    """

    def __init__(self, experiment, agent_name, env_name, verbose=True, logdir="runs"):  # noqa: D107
        self.env_name = env_name
        self.log_dir = str(logdir)
        self._experiment = experiment
        self._verbose = verbose
        SummaryWriter.__init__(self, log_dir=self.log_dir)


def _in_folder(experiment_class):
    class InFolder(experiment_class):
        def _make_logger(self, logdir, agent_name, env_name, verbose):
            return _RunLogger(self, agent_name, env_name, verbose=verbose, logdir=logdir)

    InFolder.__name__ = experiment_class.__name__
    return InFolder


_SingleEnv = _in_folder(SingleEnvExperiment)
_ParallelEnv = _in_folder(ParallelEnvExperiment)


def _report_training(experiment, every: int, report: Callable[[float, int], None]) -> Callable[[], None]:
    """Call ``report(mean return of the last REPORT_WINDOW training episodes, step)``
    at each multiple ``step`` of ``every`` frames (checked as each episode ends:
    an episode that crosses several multiples reports each, with one value), so
    every trial reports at the same steps. ``report`` may raise (a pruned
    trial): the exception leaves ``experiment.train``.

    Returns:
        What reports the multiples reached after the last episode ended (call
        it when training stops).
    """
    recent: deque[float] = deque(maxlen=REPORT_WINDOW)
    log = experiment._log_training_episode
    next_step = [every]

    def due(frames: int) -> None:
        while recent and frames >= next_step[0]:
            step, next_step[0] = next_step[0], next_step[0] + every
            report(sum(recent) / len(recent), step)

    def logged(returns, *args, **kwargs):
        log(returns, *args, **kwargs)
        recent.append(float(returns))
        due(experiment.frame)

    experiment._log_training_episode = logged
    return lambda: due(experiment.frame - 1)  # frames are counted from 1


def train_and_test(
    agent: AgentName,
    env: EnvName,
    hp: Mapping[str, Any] | None,
    params: RunParams,
    seed: int,
    logdir: Path,
    report: Callable[[float, int], None] | None = None,
) -> list[float]:
    """Train the agent and return its test episodes' returns.

    ALL's TensorBoard events and CSV summaries go into ``logdir`` itself.

    With ``params.report_every`` and ``report``, reports the mean return of
    recent training episodes every ``report_every`` frames (see
    ``_report_training``).

    Raises:
        UnknownHyperparameter: ``hp`` names a hyperparameter the preset does not take.
    """
    builder = preset_builder(agent)
    hyperparameters = coerce_hyperparameters(str(agent), hp, builder.default_hyperparameters)
    device = params.device or ("cuda" if torch.cuda.is_available() else "cpu")
    torch.set_num_threads(params.threads)
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)

    base_env = _make_env(env, device)
    preset = builder.env(base_env).device(device).hyperparameters(**hyperparameters).build()
    options = dict(logdir=str(logdir), quiet=True, verbose=False, save_freq=math.inf)
    n_envs = getattr(preset, "n_envs", None)
    if n_envs is not None:
        copies = [_make_env(env, device) for _ in range(int(n_envs))]
        for index, copy in enumerate(copies):
            _seed_env(copy, seed + index)
        experiment = _ParallelEnv(preset, DuplicateEnvironment(copies, device=device), **options)
    else:
        _seed_env(base_env, seed)
        experiment = _SingleEnv(preset, base_env, **options)
    finish = _report_training(experiment, params.report_every, report) if report and params.report_every else None
    try:
        experiment.train(frames=params.train_frames, episodes=params.train_episodes)
        if finish is not None:
            finish()
        returns = experiment.test(episodes=params.test_episodes)
    finally:
        _close(experiment)
    # Older ALL releases could return more test episodes than asked for.
    return [float(value) for value in returns[: params.test_episodes]]
