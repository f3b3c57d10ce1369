"""Search spaces and suggestions: the one module that talks to hyperopt.

Importing hyperopt takes over a second (it imports scipy), so nothing imports
this module until a space is built or a trial suggested; reading a session's
log (`ssearch list`) never does.

Suggestions call hyperopt's algorithms directly (`rand.suggest`,
`tpe.suggest`, `anneal.suggest` with `(new_ids, domain, trials, seed)`),
never `fmin`. A trial's seed comes from (session seed, tid), so a `rand`
session draws the same set of settings whether one worker or eight run it.
"""

from __future__ import annotations

import datetime
import functools
import logging
import math
import pickle
from typing import Any

import numpy as np
from hyperopt import (
    JOB_STATE_DONE,
    JOB_STATE_ERROR,
    JOB_STATE_NEW,
    JOB_STATE_RUNNING,
    Trials,
    anneal,
    hp,
    pyll,
    rand,
    tpe,
)
from hyperopt.base import Domain

from . import _fast_eval
from ._errors import InvalidSetting, InvalidSpace
from ._model import TrialState

logger = logging.getLogger(__name__)

ALGOS = ("rand", "tpe", "anneal", "enumeration")

# hyperopt's `cmd` for trials of a Domain; kept so fmin-made and our docs agree.
DOMAIN_CMD = ("domain_attachment", "FMinIter_Domain")

_JOB_STATE = {
    "new": JOB_STATE_NEW,
    "running": JOB_STATE_RUNNING,
    "ok": JOB_STATE_DONE,
    "failed": JOB_STATE_ERROR,
    # A pruned trial is done: its loss (its last report) is what TPE learns from.
    "pruned": JOB_STATE_DONE,
}


def _no_objective(params: Any) -> float:  # pragma: no cover - never called
    raise RuntimeError("a session's Domain only suggests")


def normalize_space(space: Any) -> Any:
    """Make each list at the top level of a dict space a `hp.choice` labelled by its key.

    `{"lr": [0.1, 0.01]}` then means "lr is one of these", as in a grid.
    """
    if isinstance(space, dict):
        return {k: hp.choice(k, v) if isinstance(v, list) else v for k, v in space.items()}
    return space


def build_domain(space: Any) -> Domain:
    """Compile a space into a hyperopt Domain.

    Raises:
        InvalidSpace: hyperopt refuses it (duplicate labels, cycles, ...).
    """
    try:
        return Domain(_no_objective, space)
    except Exception as err:  # hyperopt raises many types for a bad space
        if not _has_hyperparameter(space):
            raise InvalidSpace(
                f"{space!r} holds no hyperparameter: give a dict of hp expressions or "
                "lists of choices, e.g. {'x': hp.uniform('x', 0, 1), 'act': ['relu', 'tanh']}"
            ) from err
        raise InvalidSpace(f"{type(err).__name__}: {err}") from err


def _has_hyperparameter(space: Any) -> bool:
    try:
        return any(node.name == "hyperopt_param" for node in pyll.dfs(pyll.as_apply(space)))
    except Exception:  # noqa: BLE001 - not even an expression: it has none
        return False


@functools.lru_cache(maxsize=64)
def domain_for(uid: str, space_pickle: bytes) -> tuple[Any, Domain]:
    """The unpickled space and its compiled Domain, built once per process."""
    space = pickle.loads(space_pickle)
    return space, build_domain(space)


def _switch_nested_params(expr: Any) -> list[str]:
    """Labels of parameters that sit inside an option of a `hp.choice`."""
    nested = []
    for node in pyll.dfs(expr):
        if node.name == "switch":
            for option in node.pos_args[1:]:
                for inner in pyll.dfs(option):
                    if inner.name == "hyperopt_param":
                        nested.append(inner.arg["label"].obj)
    return nested


def _choice_range(label: str, node: Any) -> range:
    if node.name != "randint":
        raise InvalidSpace(
            f"enumeration takes only hp.choice, lists and hp.randint, but {label!r} is "
            f"hp.{node.name}: use another algo, or make it a list"
        )
    bounds = [arg.obj for arg in node.pos_args]
    if not bounds or any(not isinstance(b, (int, np.integer)) for b in bounds):
        raise InvalidSpace(f"enumeration needs literal bounds for {label!r}")
    return range(bounds[0]) if len(bounds) == 1 else range(bounds[0], bounds[1])


def enumeration_axes(domain: Domain) -> list[tuple[str, range]]:
    """The labels and value ranges an enumeration walks, in its order.

    Labels in hyperopt's order (for a dict space, sorted by key); the first
    varies slowest.

    Raises:
        InvalidSpace: a parameter is continuous, or a choice holds parameters.
    """
    nested = _switch_nested_params(domain.expr)
    if nested:
        raise InvalidSpace(
            f"enumeration needs flat choices, but {', '.join(sorted(set(nested)))} "
            "sit inside a choice: flatten the space or use another algo"
        )
    return [(label, _choice_range(label, node)) for label, node in domain.params.items()]


def enumeration_size(domain: Domain) -> int:
    """How many settings an enumeration of the domain has."""
    return math.prod(len(r) for _, r in enumeration_axes(domain))


def enumeration_vals(axes: list[tuple[str, range]], index: int) -> dict:
    """The `index`-th setting (mixed radix, first label slowest) as hyperopt vals."""
    vals = {}
    for label, values in reversed(axes):
        index, digit = divmod(index, len(values))
        vals[label] = [values[digit]]
    return {label: vals[label] for label, _ in axes}


def trial_seed(seed: int, tid: int) -> int:
    """The seed of trial `tid` of a session seeded `seed` (independent streams)."""
    return int(np.random.SeedSequence([seed, tid]).generate_state(1, np.uint32)[0])


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _plain_vals(vals: dict) -> dict:
    return {label: [_plain(v) for v in values] for label, values in vals.items()}


def suggest(algo: str, domain: Domain, trials: Trials, tid: int, seed: int) -> dict:
    """Hyperopt's suggestion for new trial `tid`, as `misc["vals"]`.

    Args:
        algo: `rand`, `tpe` or `anneal`.
        domain: the session's compiled Domain.
        trials: the session's trials so far (read by tpe and anneal).
        tid: the new trial's id.
        seed: the session's seed.
    """
    # The module of the chosen algorithm only: tpe's import waits for a tpe
    # session (see _hyperopt_private.py).
    module = {"rand": rand, "tpe": tpe, "anneal": anneal}.get(algo)
    if module is None:
        raise InvalidSetting("algo", algo, " or ".join(ALGOS))
    trial_s = trial_seed(seed, tid)
    fast = _FAST_SUGGEST.get(algo)
    if fast is not None:
        # The same vals as hyperopt's, computed faster (_fast_eval). Anything
        # unexpected goes to hyperopt itself, which raises a real error again.
        try:
            return _plain_vals(fast(domain, trials, tid, trial_s))
        except Exception:  # noqa: BLE001 - hyperopt decides
            logger.debug("fast %s suggestion failed; hyperopt's", algo, exc_info=True)
    docs = module.suggest([tid], domain, trials, trial_s)
    return _plain_vals(docs[0]["misc"]["vals"])


_FAST_SUGGEST = {
    "rand": lambda domain, trials, tid, seed: _fast_eval.rand_vals(domain, tid, seed),
    "tpe": _fast_eval.tpe_vals,
}


def assignment(vals: dict) -> dict:
    """hyperopt vals (label -> [v] or []) to a label -> v assignment of active labels."""
    return {label: v[0] for label, v in vals.items() if v}


def params(space: Any, vals: dict) -> Any:
    """The objective's parameters for a trial: `space_eval` of its vals.

    `_fast_eval.space_eval`, hyperopt's value computed faster; an error of
    the space's own code propagates as from `hyperopt.space_eval`.
    """
    return _fast_eval.space_eval(space, assignment(vals))


def _utc(t: float | None) -> datetime.datetime | None:
    # hyperopt stores naive UTC datetimes, to the millisecond.
    if t is None:
        return None
    dt = datetime.datetime.fromtimestamp(t, datetime.timezone.utc).replace(tzinfo=None)
    return dt.replace(microsecond=dt.microsecond // 1000 * 1000)


def trial_doc(trial: TrialState) -> dict:
    """The hyperopt trial document of a trial (`trials_from_docs` accepts a list of them)."""
    tid = trial.tid
    if trial.status == "ok":
        result = dict(trial.result or {})
        result.setdefault("status", "ok")
    elif trial.status == "failed":
        result = {"status": "fail", "failure": trial.traceback}
    elif trial.status == "pruned":
        # status ok with its last reported loss: hyperopt's TPE and anneal
        # read `loss` whatever the status; a trial pruned before reporting
        # has none, and counts as failed for them.
        loss = (trial.result or {}).get("loss")
        result = {
            "status": "ok" if loss is not None else "fail",
            "pruned": True,
            "step": (trial.result or {}).get("step"),
        }
        if loss is not None:
            result["loss"] = loss
    else:
        result = {"status": "new"}
    vals = {label: list(v) for label, v in trial.vals.items()}
    misc = {
        "tid": tid,
        "cmd": DOMAIN_CMD,
        "idxs": {label: [tid] if v else [] for label, v in vals.items()},
        "vals": vals,
        "workdir": None,
    }
    return {
        "state": _JOB_STATE[trial.status],
        "tid": tid,
        "spec": None,
        "result": result,
        "misc": misc,
        "exp_key": None,
        "owner": trial.owner,
        "version": trial.attempt,
        "book_time": _utc(trial.book_time),
        "refresh_time": _utc(trial.refresh_time),
        "attachments": {},
    }


def enumeration_index(axes: list[tuple[str, range]], vals: dict) -> int:
    """The position of ``vals`` in the enumeration of ``axes`` (see `enumeration_vals`)."""
    index = 0
    for label, values in axes:
        index = index * len(values) + values.index(vals[label][0])
    return index
