"""Reading sessions: progress, results, hyperopt documents, listings.

Readers take no store lock: they bring this process's view up to date and
read it. `list_sessions` and `progress` never import hyperopt (it takes over
a second to import); `results`, `best`, `worst` and `trial_docs` do, to turn
vals into parameters and documents.
"""


import logging
import time
from dataclasses import dataclass
from typing import Any, NamedTuple

from slurm_search import state as store

from ._big_results import is_apart, load_result
from ._errors import CorruptSession
from ._events import Created, Snapshot
from ._format import check as check_format
from ._goals import value_of
from ._model import SessionState, replay, status
from ._names import DEFAULT_TYPE, session_name
from ._snapshots import SLOW, maybe_write, no_gc, summary_at_end
from ._snapshots import load as load_checkpoint
from ._snapshots import write as write_checkpoint
from ._view import View, view

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Progress:
    """Where a session stands.

    Attributes:
        name: the session.
        status: `running`, `stopped`, `failed` or `done`.
        running: trials claimed now (some leases may have run out).
        completed: ok trials.
        failed: failed trials (out of attempts).
        waiting: trials waiting for another attempt.
        max_evals: trials the session runs in all.
        last_traceback: the last failure's traceback (None before any).
        best_loss: the lowest loss so far (None before any result).
        mean_duration: mean seconds of an ok trial's objective call.
        pruned: trials the pruner stopped early.
        goal: how the loss reads (`min`, `max`, `none`: see `create_session`).
        best_value: the best value so far in the objective's own sign
            (`-best_loss` when the goal is `max`; None when it is `none`).
    """

    name: str
    status: str
    running: int
    completed: int
    failed: int
    waiting: int
    max_evals: int
    last_traceback: str | None
    best_loss: float | None
    mean_duration: float | None
    pruned: int = 0
    goal: str = "min"
    best_value: float | None = None


class TrialResult(NamedTuple):
    """An ok trial: its id, parameters, loss and whole result dict."""

    tid: int
    params: Any
    loss: float
    result: dict


@dataclass(frozen=True)
class SessionInfo:
    """A session's settings (what `create_session` was given)."""

    name: str
    objective: str
    algo: str
    max_evals: int
    seed: int
    metadata: dict
    max_attempts: int
    max_failures: int
    lease_seconds: float
    interruptible: bool
    created: float
    pruner: str | None = None
    pruner_options: dict | None = None
    goal: str = "min"
    pbt_options: dict | None = None
    sampler_options: dict | None = None
    directions: list | None = None  # a multi-objective session's (see _multi.py)


@dataclass(frozen=True)
class SessionSummary:
    """One line of `list_sessions`.

    `status` is `corrupt` (and `error` says why) for a session whose stored
    files cannot be read; its other fields are then None.
    """

    name: str
    status: str
    algo: str | None
    running: int | None
    completed: int | None
    failed: int | None
    max_evals: int | None
    created: float | None
    error: str | None = None
    pruned: int | None = None


def _fresh(name: str) -> tuple[View, SessionState]:
    v = view(session_name(name))
    st = v.refresh()
    maybe_write(v)
    return v, st


def progress(name: str) -> Progress:
    """Status and counts of a session, and its last failure's traceback."""
    v, st = _fresh(name)
    with v.mutex:
        losses = [t.result["loss"] for t in st.trials.values() if t.status == "ok" and t.result is not None]
        best_loss = min(losses) if losses else None
        return Progress(
            name=v.name,
            status=status(st),
            running=st.counts["running"],
            completed=st.counts["ok"],
            failed=st.counts["failed"],
            waiting=st.counts["new"],
            max_evals=st.spec.max_evals,
            last_traceback=st.last_traceback,
            best_loss=best_loss,
            mean_duration=st.mean_duration,
            pruned=st.counts.get("pruned", 0),
            goal=st.spec.goal,
            best_value=value_of(st.spec.goal, best_loss),
        )


def info(name: str) -> SessionInfo:
    """The settings a session was created with."""
    v, st = _fresh(name)
    spec = st.spec
    return SessionInfo(
        name=v.name,
        objective=spec.objective,
        algo=spec.algo,
        max_evals=spec.max_evals,
        seed=spec.seed,
        metadata=dict(spec.metadata or {}),
        max_attempts=spec.max_attempts,
        max_failures=spec.max_failures,
        lease_seconds=spec.lease_seconds,
        interruptible=spec.interruptible,
        created=spec.created,
        pruner=spec.pruner,
        pruner_options=dict(spec.pruner_options) if spec.pruner_options else None,
        pbt_options=dict(pbt) if (pbt := getattr(spec, "pbt", None)) else None,
        goal=spec.goal,
        sampler_options=dict(spec.sampler_options) if spec.sampler_options else None,
        directions=list(spec.directions) if spec.directions else None,
    )


def context(name: str) -> Any:
    """The context object the session passes to its objective."""
    v, _ = _fresh(name)
    return v.derived.context(v.state)


def annotations(name: str) -> dict[str, Any]:
    """The key/values attached with `annotate` (a copy)."""
    v, st = _fresh(name)
    with v.mutex:
        return dict(st.annotations)


def trial_owners(name: str) -> list[tuple[str | None, str]]:
    """(worker of the current or last attempt, status) of every trial; no hyperopt import."""
    _, st = _fresh(name)
    return [(trial.owner, trial.status) for trial in st.trials.values()]


def results(name: str, *, load: bool = True) -> list[TrialResult]:
    """The ok trials, by tid, each with its whole result.

    Args:
        load: load a result kept apart from the log (`_big_results`); with
            False, its `result` is the record's small reference dict (what
            listings and `ssearch show` use: they never load big results).
    """
    v, st = _fresh(name)
    with v.mutex:
        ok = sorted((t for t in st.trials.values() if t.status == "ok"), key=lambda t: t.tid)
        found = [
            TrialResult(t.tid, v.derived.params(st, t.tid), t.result["loss"], dict(t.result))
            for t in ok
            if t.result is not None  # an ok trial's always is
        ]
    return [_loaded(v.name, r) for r in found] if load else found


def _loaded(name: str, found: TrialResult) -> TrialResult:
    if not is_apart(found.result):
        return found
    return found._replace(result=load_result(name, found.result))


def best(name: str, *, load: bool = True) -> TrialResult | None:
    """The ok trial with the lowest loss (the lowest tid among equals); None before any.

    Only that trial's result is loaded (`load=False`: none)."""
    found = results(name, load=False)
    if not found:
        return None
    chosen = min(found, key=lambda r: (r.loss, r.tid))
    return _loaded(session_name(name), chosen) if load else chosen


def worst(name: str, *, load: bool = True) -> TrialResult | None:
    """The ok trial with the highest loss (the lowest tid among equals); None before any."""
    found = results(name, load=False)
    if not found:
        return None
    chosen = min(found, key=lambda r: (-r.loss, r.tid))
    return _loaded(session_name(name), chosen) if load else chosen


def trial_docs(name: str) -> list[dict]:
    """hyperopt trial documents of every trial, by tid.

    `hyperopt.trials_from_docs(trial_docs(name))` gives a `hyperopt.Trials`;
    `hyperopt.space_eval(space, {k: v[0] for k, v in doc["misc"]["vals"].items() if v})`
    gives a trial's parameters.
    """
    from ._space import trial_doc

    v, st = _fresh(name)
    with v.mutex:
        return [trial_doc(st.trials[tid]) for tid in sorted(st.trials)]


def space(name: str) -> Any:
    """The session's hyperopt space (top-level lists made `hp.choice`)."""
    v, _ = _fresh(name)
    return v.derived.space_and_domain(v.state)[0]


def list_sessions(all: bool = False) -> list[SessionSummary]:  # noqa: A002 - the CLI's spelling
    """Summaries of the sessions in the store, by name.

    Lists every type's sessions (a name whose log starts with a session),
    and every name of type `search`. A session whose files cannot be read is
    listed with status `corrupt` and the error; it never breaks the listing.

    Args:
        all: include done sessions (by default only running, stopped,
            failed and corrupt ones are listed).
    """
    out = []
    for full in store.names():
        summary = _summary(full)
        if summary is None or (summary.status == "done" and not all):
            continue
        out.append(summary)
    return out


_SUMMARY_FIELDS = frozenset(("status", "algo", "running", "completed", "failed", "max_evals", "created"))


def _summary(full: str) -> SessionSummary | None:
    is_search = full.split(":", 1)[0] == DEFAULT_TYPE
    try:
        # A session whose log has not grown since its checkpoint: its head says it all.
        known = summary_at_end(full)
        if known is not None and _SUMMARY_FIELDS <= known.keys():
            # (checkpoints written before pruning have no count of pruned trials: none were)
            return SessionSummary(name=full, **{k: known[k] for k in _SUMMARY_FIELDS}, pruned=known.get("pruned", 0))
        v = View(full)
        start = time.perf_counter()
        if load_checkpoint(v):
            st = v.refresh()
        else:
            with no_gc():
                recs, pos = store.records(full, 0)
                if not recs or not isinstance(recs[0], (Created, Snapshot)):
                    if is_search:
                        raise CorruptSession(full, "its log does not start with a session")
                    return None
                first = recs[0]
                check_format(full, first.spec if isinstance(first, Created) else first.state.spec)
                st = replay(recs)
            v.state, v.position = st, pos
        if time.perf_counter() - start > SLOW or status(st) != "running":
            write_checkpoint(v)  # the next listing reads its head only
    # Listing must survive any damage (torn pickles raise many types); the
    # error is shown, not hidden.
    except Exception as err:
        if not is_search and not _object_is_session(full):
            return None
        logger.warning("session %s cannot be read: %s", full, err)
        return SessionSummary(full, "corrupt", None, None, None, None, None, None, f"{type(err).__name__}: {err}")
    return SessionSummary(
        name=full,
        status=status(st),
        algo=st.spec.algo,
        running=st.counts["running"],
        completed=st.counts["ok"],
        failed=st.counts["failed"],
        max_evals=st.spec.max_evals,
        created=st.spec.created,
        pruned=st.counts.get("pruned", 0),
    )


def _object_is_session(full: str) -> bool:
    from ._events import Spec

    try:
        return isinstance(store.read(full), Spec)
    except Exception:  # unreadable too: not known to be a session
        return False

