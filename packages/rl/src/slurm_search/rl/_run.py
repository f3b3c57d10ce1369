"""``run_results``: the objective of every RL experiment. One call trains an
agent on an environment with a set of hyperparameters and a seed, tests it,
and returns the statistics of its test returns."""

from __future__ import annotations

import datetime
import errno
import logging
import os
import re
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from slurm_search import session, state
from slurm_search.dsl import report, reporting
from slurm_search.locking import ensure_dir

from . import settings
from ._debug import debug_returns
from ._errors import UnknownHyperparameter, UnwritableLogdir
from ._legacy import modern_hyperparameters
from ._names import (
    RunParams,
    parse_agent,
    parse_env,
    parse_run_params,
    preset_hyperparameter_names,
)
from ._names import run_seed as checked_seed
from ._resume import RunCheckpoints, family_key, run_key

__all__ = ["LOGDIR_VARIABLE", "run_logdir", "run_results", "schedule_results", "summarize", "tensorboard_dir"]

logger = logging.getLogger(__name__)

# Set by whoever knows the experiment's folder (an experiment's worker);
# run_params["logdir"] wins over it.
LOGDIR_VARIABLE = settings.RL_LOGDIR_VARIABLE


def tensorboard_dir(params: RunParams) -> Path:
    """Where ALL's TensorBoard logs go: ``run_params["logdir"]``, else
    ``$SLURM_SEARCH_RL_LOGDIR``, else ``<home>/tmp/tensorboard``; never the
    working directory. Created on demand (mode 0700, like the store)."""
    folder = Path(params.logdir).expanduser() if params.logdir else settings.rl_logdir()
    if folder is None:
        folder = state.root() / "tmp" / "tensorboard"
    return ensure_dir(folder)


def check_logdir(params: RunParams) -> Path:
    """`tensorboard_dir`, checked writable: called before any run starts, so
    that a bad folder is one line, not a traceback in every trial.

    Raises:
        UnwritableLogdir: the folder cannot be created, or written.
    """
    configured = settings.rl_logdir()
    if params.logdir:
        source, wanted = "the run's logdir", Path(params.logdir).expanduser()
    elif configured is not None:
        source, wanted = f"from {LOGDIR_VARIABLE}", configured
    else:
        source, wanted = f"the default; set {LOGDIR_VARIABLE} for another", state.root() / "tmp" / "tensorboard"
    try:
        folder = tensorboard_dir(params)
    except OSError as err:
        why = f"{err.filename} is a file" if err.errno == errno.ENOTDIR else (err.strerror or str(err))
        raise UnwritableLogdir(str(wanted), source, why) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UnwritableLogdir(str(folder), source, "not writable")
    return folder


def run_logdir(base: Path, agent: str, env: str, seed: int) -> Path:
    """One training run's TensorBoard folder under ``base``.

    Inside a search's trial: ``<session>/trial<tid>_seed<seed>`` (and
    ``_attempt<n>`` for a retried trial, so attempts never mix their event
    files), where ``<session>`` is the session's name without its type, as
    ``ssearch list`` and ``ssearch trials`` show it. Outside one (a direct
    ``run_results`` call): ``<agent>_<env>_seed<seed>_<time>``.
    """
    from slurm_search.session import current_trial

    trial = current_trial()
    if trial is not None:
        leaf = f"trial{trial.tid}_seed{seed}" + (f"_attempt{trial.attempt}" if trial.attempt > 1 else "")
        return base / trial.session.split(":", 1)[-1] / leaf
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    return base / re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{agent}_{env}_seed{seed}_{stamp}")


def summarize(returns: list[float]) -> dict[str, Any]:
    """``return_mean``, ``return_var`` (population variance) and
    ``returns_cdf`` (the returns sorted) of a list of test returns."""
    values = [float(value) for value in returns]
    return {
        "return_mean": statistics.fmean(values),
        "return_var": statistics.pvariance(values),
        "returns_cdf": sorted(values),
    }


def _report(mean_return: float, frames: int) -> None:
    """An intermediate mean return: to the sampling trials around this run in
    an experiment (a setting averaged over seeds; their pruner may stop it),
    else, in a plain session's trial (the ``ale`` type), as minus the return
    (the loss such a session minimises); else nowhere."""
    if reporting():
        report(mean_return, frames)
    elif session.current_reports() is not None:
        session.report(-mean_return, frames)


def run_results(
    env: str,
    agent: str,
    hp: Mapping[str, Any] | None = None,
    run_params: Mapping[str, Any] | None = None,
    run_seed: object = 0,
) -> dict[str, Any]:
    """Train and test ``agent`` on ``env``; the statistics of its test returns.

    Args:
        env: ``classic:CartPole-v1``, ``atari:Breakout``, ``continuous:<id>``.
        agent: ``classic:a2c``, ``atari:dqn``, ``continuous:sac``, … or a debug
            agent ``debug``, ``debug1``, … (seeded random returns, no torch).
        hp: hyperparameters for the preset builder; integer ones are coerced.
        run_params: ``train_frames``, ``train_episodes`` (either bounds
            training), ``test_episodes`` (default 100), ``device`` (default
            cuda when available, else cpu), ``threads`` (torch threads,
            default 1), ``delay`` (seconds a debug agent sleeps), ``logdir``,
            ``report_every`` (frames between intermediate reports of the mean
            return of the last training episodes, to the sampling trials
            around the run, whose pruner may stop it: ``slurm_search.dsl.report``;
            default 0: none), ``checkpoint_every`` (inside a trial: frames
            between checkpoints of the agent, its optimisers, counters and
            random states; default 0: a checkpoint only when the worker is
            told to leave), ``checkpoint_replay_buffer`` (whether they hold
            a DQN-like agent's replay buffer; default false). A trial's run
            that is cut resumes from its checkpoint; see the package README.
        run_seed: the seed; the same seed gives the same returns on the CPU.

    Returns:
        ``{"return_mean": float, "return_var": float, "returns_cdf": [float, …]}``.

    Raises:
        UnknownAgent, UnknownEnvironment, UnknownHyperparameter, BadRunParams:
            each reads as one line naming the valid choices.
    """
    agent_name = parse_agent(agent)
    params = parse_run_params(run_params)
    seed = checked_seed(run_seed)
    if agent_name.is_debug:
        env_name = parse_env(env, installed_only=True)
        return summarize(debug_returns(agent_name, env_name, hp, params, seed))
    env_name = parse_env(env)
    # Checked before torch loads (seconds), from the preset's source.
    takes = preset_hyperparameter_names(agent_name)
    hp = modern_hyperparameters(str(agent_name), hp, takes)
    unknown = sorted(set(hp or {}) - set(takes))
    if unknown:
        raise UnknownHyperparameter(str(agent_name), unknown, list(takes))
    budget = (params.train_frames, params.train_episodes, params.test_episodes)
    checkpoints = RunCheckpoints.open(
        run_key(str(agent_name), str(env_name), hp, seed, budget), params.checkpoint_every,
        params.checkpoint_replay_buffer, family_key(str(agent_name), str(env_name), budget),
    )
    done = checkpoints.returns() if checkpoints is not None else None
    if done is not None:
        logger.info("%s on %s, seed %d: finished in an earlier attempt of this trial", agent_name, env_name, seed)
        return summarize(done)
    from ._training import train_and_test  # torch and ALL load here, not on import

    resumed = checkpoints.resumed if checkpoints is not None else None
    if resumed is not None and checkpoints is not None and not checkpoints.adopted and Path(resumed["logdir"]).is_dir():
        logdir = Path(resumed["logdir"])  # the TensorBoard curves continue where they stopped
    else:
        logdir = ensure_dir(run_logdir(check_logdir(params), agent_name.preset, env_name.name, seed))
    returns = train_and_test(agent_name, env_name, hp, params, seed, logdir, _report, checkpoints)
    if checkpoints is not None:
        checkpoints.finish(returns)
    logger.info("%s on %s, seed %d: mean return %.3f", agent_name, env_name, seed, statistics.fmean(returns))
    return summarize(returns)


def schedule_results(
    env: str,
    agent: str,
    schedule: Sequence[tuple[int, Mapping[str, Any]]],
    run_params: Mapping[str, Any] | None = None,
    run_seed: object = 0,
) -> dict[str, Any]:
    """Train one fresh run along a PBT schedule (``session.pbt_schedule``'s
    ``[(frame, hp), ...]``, from frame 0) and test it: PBT's replay, what a
    PBT result is worth on a fresh seed. The statistics of ``run_results``.

    Not resumable (no checkpoints); reports nothing.

    Raises:
        UnknownAgent, UnknownEnvironment, UnknownHyperparameter, BadRunParams:
            as ``run_results``; ValueError: a debug agent, or no entry at frame 0.
    """
    agent_name = parse_agent(agent)
    params = parse_run_params(run_params)
    seed = checked_seed(run_seed)
    if agent_name.is_debug or not schedule or min(step for step, _ in schedule) != 0:
        raise ValueError("a schedule replays a real agent, from an entry at frame 0")
    env_name = parse_env(env)
    takes = preset_hyperparameter_names(agent_name)
    entries = []
    for step, hp in schedule:
        hp = modern_hyperparameters(str(agent_name), hp, takes)
        unknown = sorted(set(hp or {}) - set(takes))
        if unknown:
            raise UnknownHyperparameter(str(agent_name), unknown, list(takes))
        entries.append((int(step), hp))
    from ._training import train_schedule  # torch and ALL load here, not on import

    logdir = ensure_dir(run_logdir(check_logdir(params), agent_name.preset, env_name.name, seed))
    returns = train_schedule(agent_name, env_name, entries, params, seed, logdir)
    logger.info("%s on %s along a schedule, seed %d: mean return %.3f", agent_name, env_name, seed,
                statistics.fmean(returns))
    return summarize(returns)
