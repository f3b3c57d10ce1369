"""Creating and deleting sessions.

Everything a worker will need is checked here, at creation, not discovered
broken on a worker an hour later: the objective imports, the space compiles
(and, for `enumeration`, is a grid), the context pickles.

A session is stored under its name as two things: the object (the `Spec`;
it makes the session show up in `state.names()`) and the log, whose first
record is `Created(spec)`.
"""

from __future__ import annotations

import logging
import pickle
import secrets
import time
from typing import Any

from slurm_search import state as store
from slurm_search.locking import lock

from ._create_checks import MAX_TRIALS, check_settings
from ._errors import InvalidSetting, InvalidSpace, SessionExists
from ._events import Created, Spec
from ._format import FORMAT_VERSION
from ._goals import check_goal
from ._labels import check_not_owned
from ._multi import check_directions
from ._names import fresh_name, objective_path, resolve_objective, session_name
from ._optuna_sampling import check_sampler, is_optuna
from ._pbt import check_pbt_options
from ._pruners import check_pruner
from ._trial_checkpoints import check_checkpoint_options
from ._view import forget

logger = logging.getLogger(__name__)

ALGOS = ("rand", "tpe", "anneal", "enumeration", "pbt")


def _positive_int(setting: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidSetting(setting, value, f"an integer >= {minimum}")
    return value


def _taken(name: str) -> bool:
    return store.exists(name) or bool(store.records(name)[0])


def create_session(
    objective: Any,
    space: Any,
    *,
    algo: str = "rand",
    max_evals: int | None = None,
    seed: int | None = None,
    context: Any = None,
    metadata: dict | None = None,
    name: str | None = None,
    max_attempts: int = 3,
    max_failures: int | None = None,
    lease_seconds: float = 60.0,
    interruptible: bool = False,
    error_attempts: int = 1,
    trial_timeout: float | None = None,
    pruner: str | None = None,
    pruner_options: dict | None = None,
    goal: str = "min",
    checkpoints: dict | None = None,
    pbt_options: dict | None = None,
    sampler_options: dict | None = None,
    directions: list[str] | None = None,
) -> str:
    """Create a search session.

    Args:
        objective: `package.module:function` (or such a function), called as
            `fn(params, context)`; it must import now.
        space: a hyperopt space; in a dict, a list value is a `hp.choice`.
        algo: `rand`, `tpe`, `anneal`, `enumeration` (every setting of a
            grid of choices once, in order) or `pbt` (population-based
            training: see `pbt_options` and _pbt.py).
        max_evals: how many trials; for `enumeration` it defaults to, and is
            capped at, the number of settings.
        seed: the seed of the suggestions (default: a random one, stored).
        context: any picklable object, passed to the objective.
        metadata: free-form dict, for display.
        name: `name` or `type:name` (default: a fresh `search:adj_adj_adj_noun`).
        max_attempts: attempts (failures or lost leases) before a trial fails.
        max_failures: failed trials tolerated before the session fails
            (default: max_evals // 10, so a small session fails at its first
            failed trial; a session whose trials all failed is failed).
        lease_seconds: how long a claim lasts unless its worker renews it.
        interruptible: workers with a deadline claim until the deadline
            instead of stopping when a trial no longer fits.
        error_attempts: attempts of a trial whose objective raises, returns a
            result that cannot be stored, or times out (default 1: it fails
            at once; lost leases are retried up to `max_attempts`).
        trial_timeout: seconds an objective may run; past it the trial is
            stopped (the objective runs in a child process then) and failed
            with "timed out after N s". None: no limit.
        pruner: None, `median` or `asha`: stops trials early on their
            intermediate reports (`report(value, step)`; see _pruners.py).
        pruner_options: the pruner's options (median: n_startup_trials,
            n_warmup_steps, interval_steps, n_min_trials; asha:
            min_resource, reduction_factor, max_resource,
            min_early_stopping_rate, bootstrap_count).
        goal: how the loss reads for people; the search minimises it
            whatever the goal. `min`: the loss is the objective's value;
            `max`: the objective maximises a value and returns `loss =
            -value` (listings show `-loss`, higher is better); `none`: the
            loss is a placeholder, nothing is optimised (no best shown).
        checkpoints: how trial checkpoints (`save_checkpoint`) are kept:
            `keep` (the newest K of a trial, default 2), `keep_finished`
            (kept after the trial ends ok or pruned, default false),
            `max_bytes` (the largest allowed checkpoint, default none).
        pbt_options: for `algo="pbt"` only: `population` (the members;
            default and only allowed `max_evals`), `interval` (steps between
            exploits, required), `quantile` (default 0.25), `perturb`
            (factors, default [0.8, 1.2]), `resample_probability` (default
            0.25), `max_steps` (no exploit from that step on; default none),
            `explore` (`perturb`, or `pb2`: PB2's GP-bandit explore).
        sampler_options: keyword arguments of an Optuna sampler (algo
            `optuna:TPESampler`, `optuna:GPSampler`, `optuna:CmaEsSampler`,
            `optuna:QMCSampler`, `optuna:NSGAIISampler`,
            `optuna:RandomSampler`; see _optuna_sampling.py), e.g.
            `{"n_startup_trials": 5}`; its seed is the session's.
        directions: a multi-objective session: `min` or `max` per value
            the objective returns (a list of them, Optuna's convention; see
            _multi.py); with `optuna:NSGAIISampler`, `TPESampler`,
            `GPSampler`, `RandomSampler` or `QMCSampler` only. The goal is
            then the first direction.

    Returns:
        The session's `type:name`.

    Raises:
        InvalidObjective: the objective does not name an importable callable.
        InvalidSpace: the space is not one hyperopt (or the algo) can use.
        InvalidSetting: a setting (algo, max_evals, lease, ...) has a wrong value.
        InvalidSessionName: the name is malformed.
        SessionExists: a session of that name exists.
    """
    from . import _space, _space_checks  # hyperopt: imported only to create a session

    check_settings(objective, context=context, lease_seconds=lease_seconds, interruptible=interruptible)
    if algo not in ALGOS and not is_optuna(algo):
        raise InvalidSetting("algo", algo, " or ".join(ALGOS) + " or optuna:NAME (an Optuna sampler)")
    if sampler_options is not None and not is_optuna(algo):
        raise InvalidSetting("sampler_options", sampler_options, "none: only an optuna:NAME algo takes options")
    path = objective_path(objective)
    resolve_objective(path)
    space = _space.normalize_space(space)
    domain = _space.build_domain(space)
    _space_checks.check_space(space)
    checked_directions = check_directions(directions, algo, pruner)  # before the sampler: a one-loss algo says so
    if is_optuna(algo):
        sampler_options = check_sampler(algo, sampler_options, domain)
    if algo == "enumeration":
        size = _space.enumeration_size(domain)
        max_evals = size if max_evals is None else min(_positive_int("max_evals", max_evals), size)
    elif algo == "pbt":
        pbt_options = check_pbt_options(pbt_options, max_evals)
        max_evals = pbt_options["population"]
        from ._pbt_explore import check_flat  # numpy: not at import

        check_flat(domain)
        if pbt_options["explore"] == "pb2":
            from ._pb2 import check_bounded

            check_bounded(domain)
        if pruner not in (None, "none"):
            raise InvalidSetting("pruner", pruner, "none with algo pbt (its exploits replace pruning)")
    elif max_evals is None:
        raise InvalidSetting("max_evals", None, "the number of trials to run (an integer >= 1)")
    if algo != "pbt" and pbt_options is not None:
        raise InvalidSetting("pbt_options", pbt_options, "no options unless algo is pbt")
    max_evals = _positive_int("max_evals", max_evals)
    if max_evals > MAX_TRIALS:
        raise InvalidSetting(
            "max_evals", max_evals, f"an integer >= 1 and <= {MAX_TRIALS:,} (the most trials a session has)"
        )
    if seed is None:
        seed = secrets.randbits(31)
    seed = _positive_int("seed", seed, minimum=0)
    max_attempts = _positive_int("max_attempts", max_attempts)
    if max_failures is None:
        max_failures = max_evals // 10
    max_failures = _positive_int("max_failures", max_failures, minimum=0)
    if isinstance(lease_seconds, bool) or not isinstance(lease_seconds, (int, float)) or not lease_seconds > 0:
        raise InvalidSetting("lease_seconds", lease_seconds, "a number of seconds > 0")
    error_attempts = _positive_int("error_attempts", error_attempts)
    if trial_timeout is not None and (
        isinstance(trial_timeout, bool)
        or not isinstance(trial_timeout, (int, float))
        or not 0 < trial_timeout < float("inf")
    ):
        raise InvalidSetting("trial_timeout", trial_timeout, "a finite number of seconds > 0, or none")
    pruner, pruner_options = check_pruner(pruner, pruner_options)
    goal = check_goal(goal)
    if checked_directions is not None:
        goal = checked_directions[0]
    checkpoints = check_checkpoint_options(checkpoints)
    if metadata is not None and not isinstance(metadata, dict):
        raise InvalidSetting("metadata", metadata, "a dict")
    try:
        pickle.dumps(metadata)
    except Exception as err:  # pickling user objects raises many types
        raise InvalidSetting("metadata", type(metadata).__name__, f"a picklable dict ({err})") from None
    try:
        space_pickle = pickle.dumps(space)
    except Exception as err:  # pickling user objects raises many types
        raise InvalidSpace(f"it does not pickle ({type(err).__name__}: {err})") from err
    try:
        context_pickle = pickle.dumps(context)
    except Exception as err:  # pickling user objects raises many types
        raise InvalidSetting("context", type(context).__name__, f"a picklable object ({err})") from err

    full = fresh_name(_taken) if name is None else session_name(name)
    if name is not None:
        check_not_owned(full)
    spec = Spec(
        objective=path,
        space=space_pickle,
        algo=algo,
        max_evals=max_evals,
        seed=seed,
        context=context_pickle,
        metadata=dict(metadata or {}),
        max_attempts=max_attempts,
        max_failures=max_failures,
        lease_seconds=float(lease_seconds),
        interruptible=bool(interruptible),
        uid=secrets.token_hex(8),
        created=time.time(),
        error_attempts=error_attempts,
        trial_timeout=None if trial_timeout is None else float(trial_timeout),
        pruner=pruner,
        pruner_options=pruner_options,
        goal=goal,
        checkpoints=checkpoints,
        format=FORMAT_VERSION,
        pbt=pbt_options if algo == "pbt" else None,
        sampler_options=sampler_options,
        directions=checked_directions,
    )
    with lock(full):
        if _taken(full):
            raise SessionExists(full)
        store.create(full, spec)
        store.append(full, Created(spec))
    forget(full)
    logger.info("created session %s (%s, %d trials, objective %s)", full, algo, max_evals, path)
    return full


def delete_session(name: str) -> None:
    """Delete a session, its trials and its logs.

    Raises:
        UnknownSession: there is no such session.
    """
    from ._errors import UnknownSession
    from ._view import close_names

    full = session_name(name)
    try:
        store.delete(full)
    except store.NotFound:
        raise UnknownSession(full, close_names(full)) from None
    forget(full)
