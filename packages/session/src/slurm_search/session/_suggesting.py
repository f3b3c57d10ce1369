"""Suggesting a new trial's vals: before the session's lock (tpe, anneal, Optuna's TPE) or under it.

`prepare` suggests from the view as it is, outside the lock, for the
algorithms whose suggestions are slow; `prepared_vals` decides under the lock
whether that guess can be used; `suggest_vals` suggests under the lock.
"""

from __future__ import annotations

import time
import zlib
from typing import Any

from ._model import pick
from ._view import View

TPE_STARTUP = 20  # hyperopt's tpe._default_n_startup_jobs: its first suggestions are rand's
# Optuna's samplers that keep no state between suggestions and suggest before the lock, as tpe
# (GP's one system attr, a running trial's params, the log holds already: _optuna_sampling.py).
OPTUNA_OUTSIDE_THE_LOCK = ("optuna:TPESampler", "optuna:GPSampler")


def prepare(v: View, claim: bool, worker: str | None = None) -> tuple[int, dict] | None:
    """For tpe and anneal, suggest before taking the lock: (guessed tid, vals) or None.

    Their suggestions take milliseconds to tens of milliseconds (O(trials));
    made under the lock they would serialise every worker. Made outside it
    from the view as it is now, workers suggest in parallel, from a history
    that may miss the trials claimed meanwhile (as Optuna's samplers and
    hyperopt's asynchronous workers do). `rand` and `enumeration` are cheap
    and tid-determined: they suggest under the lock.

    While other workers hold trials, `worker` draws from a seed of its own:
    workers that look at the same history at the same moment would
    otherwise suggest the same point for the same guessed tid, and all but
    one would have to suggest again under the lock. A worker alone uses the
    session's seed: its runs are reproducible. So do tpe's first
    `TPE_STARTUP` trials, which are random and tid-determined: they are the
    same whichever worker draws them (and however many workers run).
    """
    if not claim:
        return None
    with v.mutex:
        # The algorithm never changes: no need to read the log to know it.
        algo = v.state.spec.algo
        if algo not in ("tpe", "anneal") and algo not in OPTUNA_OUTSIDE_THE_LOCK:
            return None
        st = v.refresh()
        choice = pick(st, time.time(), v.leases.left(st))
        tid = choice.tid
        if tid is None or choice.action != "new" or st.annotations.get("enqueued"):
            return None
        crowded = (
            worker is not None
            and (st.spec.algo != "tpe" or len(st.trials) >= TPE_STARTUP)
            and any(st.trials[t].owner != worker for t in st.running)
        )
        if algo not in OPTUNA_OUTSIDE_THE_LOCK:
            return tid, suggest_vals(v, tid, worker if crowded else None)
        from . import _optuna_sampling

        ask = _optuna_sampling.study_of(v, tid, _seed(st.spec.seed, tid, worker if crowded else None))
    # Asked without the view's mutex: a GP suggestion can take seconds, and the lease keeper,
    # renewing the trial this worker has just finished (reported only after this), needs it.
    vals, notes = ask()
    # A sampler that keeps state (system attrs) suggests again under the lock, from the newest.
    return None if notes else (tid, vals)


def prepared_vals(st: Any, tid: int, prepared: tuple[int, dict] | None) -> dict | None:
    """The vals suggested before the lock, unless another worker got the same ones.

    A suggestion made for the tid we then get is used as it is (one worker
    alone always gets its guess: its runs are reproducible). One made for a
    tid that other workers took meanwhile is used for ours, unless one of
    them claimed the very same vals: workers that guessed the same tid from
    the same history, with the same seed (a worker that saw no other
    worker's trial uses the session's), suggest the same point, and any of
    them may have got any of the tids from the guessed one to ours (the
    guessed tid may go to a worker that saw another history, the next two to
    two workers that guessed alike).
    """
    if prepared is None:
        return None
    guessed, vals = prepared
    if guessed == tid:
        return vals
    for taken in range(guessed, tid):
        other = st.trials.get(taken)
        if other is not None and other.vals == vals:
            return None
    return vals


def suggest_vals(v: View, tid: int, salt: str | None = None) -> dict:
    """New vals for trial ``tid`` from the session's algorithm (tpe, anneal: seeded by `salt` too)."""
    from . import _space  # hyperopt: imported by the first suggestion, not by `ssearch list`

    spec = v.state.spec
    _, domain = v.derived.space_and_domain(v.state)
    if spec.algo == "enumeration":
        axes = _space.enumeration_axes(domain)
        used = {_space.enumeration_index(axes, t.vals) for t in v.state.trials.values()}
        index = next(i for i in range(spec.max_evals + len(used) + 1) if i not in used)
        return _space.enumeration_vals(axes, index)
    trials = v.hyperopt.trials(v.state) if spec.algo in ("tpe", "anneal") else _NO_TRIALS
    seed = spec.seed if salt is None else (spec.seed * 1_000_003 + zlib.crc32(salt.encode())) % 2**32
    # A PBT population starts from random members (explore moves them later).
    return _space.suggest("rand" if spec.algo == "pbt" else spec.algo, domain, trials, tid, seed)


def suggest_new(v: View, tid: int) -> tuple[dict, list[tuple[str, Any]]]:
    """New vals for trial ``tid`` under the lock, and the annotations to record with its claim.

    Only an Optuna sampler (`optuna:NAME`) has annotations: what it keeps
    between suggestions (see _optuna_sampling.py).
    """
    spec = v.state.spec
    if spec.algo.startswith("optuna:"):
        from . import _optuna_sampling

        return _optuna_sampling.suggest(v, tid, _seed(spec.seed, tid, None))
    return suggest_vals(v, tid), []


def _seed(seed: int, tid: int, salt: str | None) -> int:
    """An Optuna sampler's seed for trial `tid` (and a crowded worker's `salt`)."""
    from ._space import trial_seed

    if salt is not None:
        seed = (seed * 1_000_003 + zlib.crc32(salt.encode())) % 2**32
    return trial_seed(seed, tid)


class _NoTrials:
    """rand.suggest only calls new_trial_docs; skip building a Trials for it."""

    @staticmethod
    def new_trial_docs(tids: Any, specs: Any, results: Any, miscs: Any) -> list[dict]:
        return [{"tid": t, "misc": m} for t, m in zip(tids, miscs, strict=True)]


_NO_TRIALS = _NoTrials()
