"""Training and testing one agent with the autonomous-learning-library.

This module (with ``_agent_state``) is the one that imports torch and ALL;
``run_results`` imports it only when a real agent runs, so importing
``slurm_search.rl`` stays cheap.

Reproducibility on the CPU: torch, numpy and Python's ``random`` are seeded,
each copy of the environment is reset once with ``seed + i`` (later resets
draw from the environment's seeded generator), and torch uses one thread
(parallel reductions may sum in a different order; one thread per run is also
what makes the workers of a machine share it fairly).

Inside a trial, a run checkpoints (``_resume.RunCheckpoints``): every
``checkpoint_every`` frames, checked where ALL's loop checks whether training
is done (after each step of parallel environments, after each episode of a
single one), and when the worker is told to leave (``session.should_stop()``,
checked at every step), after which it hands the trial back
(``session.suspend()``). A resumed run loads the agent (``_agent_state``),
the frame and episode counters, the recent returns its reports average, and
the random states, and its environments start new episodes.
"""

from __future__ import annotations

import logging
import math
import random
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from all import presets
from all.environments import AtariEnvironment, DuplicateEnvironment, GymEnvironment
from all.experiments import ParallelEnvExperiment, SingleEnvExperiment
from all.logging import ExperimentLogger
from torch.utils.tensorboard import SummaryWriter

from slurm_search import session

from ._agent_state import (
    agent_state,
    hyperparameter_slots,
    load_agent_state,
    load_rng_state,
    restore_hyperparameters,
    rng_state,
)
from ._errors import CheckpointMismatch
from ._hparams import coerce_hyperparameters
from ._names import AGENT_FAMILIES, AgentName, EnvName, RunParams
from ._resume import RunCheckpoints

__all__ = ["REPORT_WINDOW", "train_and_test", "train_schedule"]

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
        # Called where ALL's training loop checks whether it is done (see _Cuts).
        on_loop: Callable[[], None] | None = None

        def _make_logger(self, logdir, agent_name, env_name, verbose):
            return _RunLogger(self, agent_name, env_name, verbose=verbose, logdir=logdir)

        def _done(self, frames, episodes):
            done = super()._done(frames, episodes)
            if not done and self.on_loop is not None:
                self.on_loop()
            return done

    InFolder.__name__ = experiment_class.__name__
    return InFolder


_SingleEnv = _in_folder(SingleEnvExperiment)
_ParallelEnv = _in_folder(ParallelEnvExperiment)


class _TrainingReports:
    """Call ``report(mean return of the last REPORT_WINDOW training episodes, step)``
    at each multiple ``step`` of ``every`` frames (checked as each episode ends:
    an episode that crosses several multiples reports each, with one value), so
    every trial reports at the same steps. ``report`` may raise (a pruned
    trial): the exception leaves ``experiment.train``.

    Its window and next step go into a checkpoint (`state`), so a resumed run
    reports the values the uninterrupted one would at the same steps.
    """

    def __init__(self, experiment, every: int, report: Callable[[float, int], None] | None) -> None:
        self.recent: deque[float] = deque(maxlen=REPORT_WINDOW)
        self.every = every
        self.report = report
        self.next_step = every
        self._experiment = experiment
        log = experiment._log_training_episode

        def logged(returns, *args, **kwargs):
            log(returns, *args, **kwargs)
            self.recent.append(float(returns))
            self.due(experiment.frame)

        experiment._log_training_episode = logged

    def due(self, frames: int) -> None:
        if self.report is None or not self.every:
            return
        while self.recent and frames >= self.next_step:
            step, self.next_step = self.next_step, self.next_step + self.every
            self.report(sum(self.recent) / len(self.recent), step)

    def finish(self) -> None:
        """Report the multiples reached after the last episode ended (when training stops)."""
        self.due(self._experiment.frame - 1)  # frames are counted from 1

    def state(self) -> dict[str, Any]:
        return {"recent": list(self.recent), "next_step": self.next_step}

    def restore(self, state: Mapping[str, Any]) -> None:
        self.recent.extend(state["recent"])
        self.next_step = state["next_step"]


class _Leave(Exception):
    """The worker was told to leave: out of ALL's training loop, to checkpoint and suspend."""


class _Cuts:
    """A run's checkpoints while ALL trains it, and its leaving when told to.

    Periodic checkpoints are taken where ALL's loop checks whether it is done
    (the experiment's ``on_loop``); ``should_stop()`` is looked at there and
    before every step of a single environment (whose loop checks only between
    episodes), and raises `_Leave` out of the loop.
    """

    def __init__(self, checkpoints: RunCheckpoints, experiment, envs: list[Any], reports: _TrainingReports,
                 logdir: Path) -> None:
        self.checkpoints = checkpoints
        self.experiment = experiment
        self.envs = envs
        self.reports = reports
        self.logdir = logdir
        self.hyperparameters: list[str] = []  # the run's own (hp), kept over an adopted checkpoint
        self.training = False
        self.saved_at = -1
        every = checkpoints.every
        self.next_at = (self.frames() // every + 1) * every if every else math.inf
        experiment.on_loop = self.on_loop

    def frames(self) -> int:
        """Frames trained so far."""
        return int(self.experiment.frame) - 1

    def watch_steps(self, env) -> None:
        """Look at should_stop() before every step of ``env`` while training."""
        step = env.step

        def checked(*args, **kwargs):
            if self.training and session.should_stop():
                raise _Leave
            return step(*args, **kwargs)

        env.step = checked

    def on_loop(self) -> None:
        if session.should_stop():
            raise _Leave
        frames = self.frames()
        if frames >= self.next_at:
            self.next_at = (frames // self.checkpoints.every + 1) * self.checkpoints.every
            if self.checkpoints.pbt:
                # PBT ranks members by their reports at the checkpoint's step: report it now,
                # not when the episode in progress ends.
                self.reports.due(frames)
            self.save()

    def save(self) -> None:
        frames = self.frames()
        if frames == self.saved_at and self.checkpoints.saved:
            # (An attempt that saved nothing yet saves again: a cut of an
            # attempt without a checkpoint of its own uses up one of max_attempts.)
            return
        experiment = self.experiment
        meta = {
            "frame": experiment._frame,
            "episode": experiment._episode,
            "best_returns": experiment._best_returns,
            "returns100": list(experiment._returns100),
            "reports": self.reports.state(),
            "rng": rng_state(self.envs),
            "logdir": str(self.logdir),
        }
        replay = self.checkpoints.replay

        def write(folder: Path) -> None:
            # Written once, straight into the checkpoint's folder.
            torch.save(agent_state(experiment._agent, replay=replay), folder / "agent.pt")

        if self.checkpoints.save(frames, meta, write):
            self.saved_at = frames
            logger.debug("checkpoint at frame %d", frames)

    def leave(self) -> None:
        """Checkpoint and hand the trial back (raises `slurm_search.session.Suspended`)."""
        self.training = False
        self.save()
        logger.info("told to leave at frame %d: checkpointed, handing the trial back", self.frames())
        session.suspend()

    def resume(self) -> bool:
        """Load the checkpoint this run continues from; False if there is none or it does not fit."""
        meta = self.checkpoints.resumed
        if meta is None:
            return False
        experiment = self.experiment
        try:
            state = torch.load(meta["folder"] / "agent.pt", map_location=_device_of(experiment), weights_only=False)
            # Another member's checkpoint (PBT): its learned state, our hyperparameters.
            kept = hyperparameter_slots(experiment._agent, self.hyperparameters) if self.checkpoints.adopted else {}
            load_agent_state(experiment._agent, state)
            restore_hyperparameters(experiment._agent, kept)
        except (CheckpointMismatch, OSError, RuntimeError) as err:
            logger.warning("the trial's checkpoint does not fit this run (%s): it starts afresh", err)
            return False
        experiment._frame = meta["frame"]
        experiment._episode = meta["episode"]
        experiment._best_returns = meta["best_returns"]
        experiment._returns100 = list(meta["returns100"])
        self.reports.restore(meta["reports"])
        load_rng_state(meta["rng"], self.envs)
        self.saved_at = self.frames()
        every = self.checkpoints.every
        self.next_at = (self.frames() // every + 1) * every if every else math.inf
        logger.info("resuming at frame %d (episode %d) from the trial's checkpoint", self.frames(), meta["episode"])
        return True


def _device_of(experiment) -> str:
    return str(getattr(experiment._preset, "device", "cpu"))


def _build(agent: AgentName, env: EnvName, hp: Mapping[str, Any] | None, params: RunParams, seed: int,
           logdir: Path) -> tuple[Any, list[Any], Any, Any]:
    """(experiment, environment copies, base environment, n_envs or None) of a run, seeded."""
    builder = preset_builder(agent)
    hyperparameters = coerce_hyperparameters(str(agent), hp, builder.default_hyperparameters)
    device = params.device or ("cuda" if torch.cuda.is_available() else "cpu")
    torch.set_num_threads(params.threads)
    base_env = _make_env(env, device)
    preset = builder.env(base_env).device(device).hyperparameters(**hyperparameters).build()
    options = dict(logdir=str(logdir), quiet=True, verbose=False, save_freq=math.inf)
    n_envs = getattr(preset, "n_envs", None)
    if n_envs is not None:
        envs = [_make_env(env, device) for _ in range(int(n_envs))]
        for index, copy in enumerate(envs):
            _seed_env(copy, seed + index)
        experiment = _ParallelEnv(preset, DuplicateEnvironment(envs, device=device), **options)
    else:
        envs = [base_env]
        _seed_env(base_env, seed)
        experiment = _SingleEnv(preset, base_env, **options)
    return experiment, envs, base_env, n_envs


def train_schedule(
    agent: AgentName,
    env: EnvName,
    schedule: Sequence[tuple[int, Mapping[str, Any]]],
    params: RunParams,
    seed: int,
    logdir: Path,
) -> list[float]:
    """Train one fresh run along a PBT schedule and return its test episodes' returns.

    ``schedule`` is ``[(frame, hp), ...]`` from frame 0 (``session.pbt_schedule``):
    the run trains with each entry's hyperparameters from its frame on (PBT's
    replay). At each switch the agent is rebuilt with the new hyperparameters
    and takes the learned state, counters and random states of the one
    before, as a PBT member takes a checkpoint (its environments start new
    episodes).
    """
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    entries = sorted(schedule, key=lambda entry: entry[0])
    carried: dict[str, Any] | None = None
    for index, (_, hp) in enumerate(entries):
        end = entries[index + 1][0] if index + 1 < len(entries) else params.train_frames
        experiment, envs, _, _ = _build(agent, env, hp, params, seed, logdir)
        if carried is not None:
            kept = hyperparameter_slots(experiment._agent, list(hp))
            load_agent_state(experiment._agent, carried["agent"])
            restore_hyperparameters(experiment._agent, kept)
            experiment._frame, experiment._episode = carried["frame"], carried["episode"]
            experiment._best_returns, experiment._returns100 = carried["best"], carried["returns100"]
            load_rng_state(carried["rng"], envs)
        last = index + 1 == len(entries)
        try:
            experiment.train(frames=end, episodes=params.train_episodes if last else math.inf)
            if last:
                returns = experiment.test(episodes=params.test_episodes)
                return [float(value) for value in returns[: params.test_episodes]]
            carried = {
                "agent": agent_state(experiment._agent), "frame": experiment._frame,
                "episode": experiment._episode, "best": experiment._best_returns,
                "returns100": list(experiment._returns100), "rng": rng_state(envs),
            }
        finally:
            _close(experiment)
    raise ValueError("an empty schedule: it needs an entry at frame 0")


def train_and_test(
    agent: AgentName,
    env: EnvName,
    hp: Mapping[str, Any] | None,
    params: RunParams,
    seed: int,
    logdir: Path,
    report: Callable[[float, int], None] | None = None,
    checkpoints: RunCheckpoints | None = None,
) -> list[float]:
    """Train the agent and return its test episodes' returns.

    ALL's TensorBoard events and CSV summaries go into ``logdir`` itself.

    With ``params.report_every`` and ``report``, reports the mean return of
    recent training episodes every ``report_every`` frames (see
    ``_TrainingReports``). With ``checkpoints`` (inside a trial), resumes from
    the run's checkpoint, checkpoints every ``checkpoints.every`` frames, and
    when the worker is told to leave checkpoints and hands the trial back.

    Raises:
        UnknownHyperparameter: ``hp`` names a hyperparameter the preset does not take.
        slurm_search.session.Suspended: the worker was told to leave (after a checkpoint).
    """
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    experiment, envs, base_env, n_envs = _build(agent, env, hp, params, seed, logdir)
    reports = _TrainingReports(experiment, params.report_every, report)
    cuts = _Cuts(checkpoints, experiment, envs, reports, logdir) if checkpoints is not None else None
    try:
        if cuts is not None:
            cuts.hyperparameters = list(hp or {})
            cuts.resume()
            if n_envs is None:
                cuts.watch_steps(base_env)
            cuts.training = True
            try:
                experiment.train(frames=params.train_frames, episodes=params.train_episodes)
            except _Leave:
                cuts.leave()
            cuts.training = False
            if session.should_stop():  # told during the last episode: the test is for the next attempt
                cuts.leave()
        else:
            experiment.train(frames=params.train_frames, episodes=params.train_episodes)
        reports.finish()
        returns = experiment.test(episodes=params.test_episodes)
    finally:
        _close(experiment)
    # Older ALL releases could return more test episodes than asked for.
    return [float(value) for value in returns[: params.test_episodes]]
