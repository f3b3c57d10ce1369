"""Optuna's samplers as session algorithms: `algo="optuna:TPESampler"`, ...

A session whose algo is `optuna:NAME` suggests each new trial with Optuna's
sampler `NAME` (`SAMPLERS`; options from `Spec.sampler_options`), inside our
workers, under our claim protocol: the suggestion is made from the
session's history, rebuilt as an in-memory Optuna study for that one
suggestion (no Optuna storage, no server), under the session's lock (TPE
and GP, which keep no state: before it, see _suggesting.prepare). It is a
function of the log and the seed, like every decision a host makes:

- each trial of the log is a trial of the study, in tid order: ok ->
  COMPLETE (value: the loss: the study minimises), pruned -> PRUNED with its
  reports as intermediate values, failed -> FAIL, running or waiting for a
  retry -> RUNNING (never WAITING, which Optuna would hand out again);
- what a sampler keeps between suggestions (CMA-ES's optimizer and
  generation, NSGA-II's generation, QMC's sample ids) are the system attrs
  it sets on a trial or the study; they are recorded in the log beside the
  claim, as annotations `optuna:trial:TID` and `optuna:study`, and given
  back to the study the next time;
- the sampler is built afresh for each suggestion with the seed
  `trial_seed(session seed, tid)`: one worker alone, or any number of
  workers that see the same history, suggest the same point for a tid.
  With several workers the history a suggestion sees depends on which
  trials finished first, as in Optuna's own distributed runs: the same
  seed gives the same suggestions only with one worker (TPE, GP, CMA-ES,
  NSGA-II); QMC's and random's suggestions depend on the tid alone, at any
  worker count.

The hyperopt space maps to Optuna distributions, conditional parameters
included (a label is suggested only when its branch of `hp.choice` is
taken, so the sampler sees the same conditional space as in Optuna's
define-by-run): `uniform` -> float, `quniform` -> float with its step,
`loguniform` -> log float, `qloguniform` -> log float rounded to `q` as
hyperopt rounds, `randint` -> int, `hp.choice`/`pchoice` -> categorical of
the option index (pchoice's probabilities are not used), `normal`,
`lognormal` and their `q` forms -> a float quantile in (0, 1) mapped
through the normal's inverse CDF (so a random sampler draws the same
distribution as hyperopt's). Trials keep hyperopt's `vals`, so every tool
that reads a session reads these too.

optuna is an optional extra: without it, creating such a session says how
to install it in one line.
"""

from __future__ import annotations

import contextlib
import logging
import math
import statistics
import warnings
from collections.abc import Iterator
from typing import Any

from ._errors import InvalidSetting, InvalidSpace
from ._optuna_private import DERIVED_TRIAL_ATTRS, owned, storage_of

__all__ = ["PREFIX", "SAMPLERS", "check_sampler", "is_optuna", "suggest"]

logger = logging.getLogger(__name__)

PREFIX = "optuna:"
SAMPLERS = ("TPESampler", "GPSampler", "CmaEsSampler", "QMCSampler", "NSGAIISampler", "RandomSampler")
INSTALL = "pip install 'slurm-search-session[optuna]' (or pip install optuna)"
TRIAL_ATTRS = "optuna:trial:"  # + tid: the system attrs the sampler set on that trial
STUDY_ATTRS = "optuna:study"
# DERIVED_TRIAL_ATTRS (_optuna_private): a trial of the log is given back to the study with its params,
# so those system attrs hold nothing the log lacks. Kept, they would be recorded with every claim and
# make each guess made before the lock suggest again under it (a sampler with state does).
EPS = 1e-6  # quantiles of a normal are kept inside (EPS, 1 - EPS): its inverse CDF is finite there
_NORMAL = statistics.NormalDist()


def is_optuna(algo: object) -> bool:
    """Whether `algo` names one of Optuna's samplers (`optuna:NAME`)."""
    return isinstance(algo, str) and algo.startswith(PREFIX)


def _optuna(algo: str = "optuna:...") -> Any:
    try:
        import optuna
    except ImportError:
        raise InvalidSetting("algo", algo, f"optuna, which is not installed: {INSTALL}") from None
    return optuna


def _sampler_class(algo: str) -> Any:
    name = algo[len(PREFIX):]
    if name not in SAMPLERS:
        raise InvalidSetting("algo", algo, "optuna:" + ", optuna:".join(SAMPLERS))
    return getattr(_optuna(algo).samplers, name)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Optuna's info logs (a study per suggestion) and experimental warnings, silenced for our calls."""
    optuna = _optuna()
    verbosity = optuna.logging.get_verbosity()
    # ERROR: the relative samplers warn, on every suggestion, that a conditional parameter is drawn
    # independently (see the README); greenlet's absence is warned about too.
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            warnings.filterwarnings("ignore", message=".*independent sampler.*")
            yield
    finally:
        optuna.logging.set_verbosity(verbosity)


def _make(algo: str, options: dict | None, seed: int) -> Any:
    cls = _sampler_class(algo)
    with _quiet():
        return cls(seed=seed, **(options or {}))


def check_sampler(algo: str, options: Any, domain: Any) -> dict | None:
    """`options` for sampler `algo` if it builds with them and maps the space; else one clear error.

    Raises:
        InvalidSetting: optuna is not installed (the message says how to install
            it), an unknown sampler, options it does not take, or a module the
            sampler needs is missing (the message names it).
        InvalidSpace: a distribution whose bounds are expressions.
    """
    if options is not None and not isinstance(options, dict):
        raise InvalidSetting("sampler_options", options, "a dict of the sampler's keyword arguments")
    try:
        _make(algo, options, 0)
    except InvalidSetting:
        raise
    except TypeError as err:
        raise InvalidSetting("sampler_options", options, f"keyword arguments of {algo[len(PREFIX):]} ({err})") from None
    except (ImportError, ModuleNotFoundError) as err:
        raise InvalidSetting("algo", algo, f"a sampler whose dependencies are installed ({err})") from None
    except ValueError as err:
        raise InvalidSetting("sampler_options", options, f"valid options of {algo[len(PREFIX):]} ({err})") from None
    _labels(domain)
    # A sampler that needs a module only when it suggests (CMA-ES: cmaes; GP: torch, scipy).
    needs = {"CmaEsSampler": ("cmaes",), "GPSampler": ("torch", "scipy"), "QMCSampler": ("scipy",)}
    for module in needs.get(algo[len(PREFIX):], ()):
        try:
            __import__(module)
        except ImportError:
            raise InvalidSetting(
                "algo", algo, f"the module {module}, which {algo[len(PREFIX):]} needs: pip install {module}"
            ) from None
    return dict(options) if options else None


# -- the space -------------------------------------------------------------------


def _literal(node: Any) -> Any:
    if getattr(node, "name", None) == "literal":
        return node.obj
    raise InvalidSpace(f"Optuna's samplers need literal bounds; {node.name} is an expression")


def _labels(domain: Any) -> dict[str, tuple[str, dict[str, Any]]]:
    """label -> (hyperopt's distribution, its literal arguments by name)."""
    out = {}
    for label, node in domain.params.items():
        args: dict[str, Any] = {}
        for key, value in node.arg.items():
            if hasattr(value, "name"):
                if value.name == "pos_args":  # categorical's probabilities
                    args[key] = [_literal(p) for p in value.pos_args]
                else:
                    args[key] = _literal(value)
        if node.name == "randint" and "high" not in args:
            args = {"low": 0, "high": args["low"]}
        out[label] = (node.name, args)
    return out


def _distribution(kind: str, a: dict[str, Any], options: int | None) -> Any:
    """The Optuna distribution a label is suggested from (`options`: an hp.choice's count)."""
    d = _optuna().distributions
    if options is not None:
        return d.CategoricalDistribution(list(range(options)))
    if kind == "uniform":
        return d.FloatDistribution(float(a["low"]), float(a["high"]))
    if kind == "quniform":
        q = float(a["q"])
        low, high = round(a["low"] / q) * q, round(a["high"] / q) * q
        return d.FloatDistribution(low, max(high, low), step=q) if high > low else d.FloatDistribution(low, low + q)
    if kind in ("loguniform", "qloguniform"):
        return d.FloatDistribution(math.exp(a["low"]), math.exp(a["high"]), log=True)
    if kind == "randint":
        return d.IntDistribution(int(a["low"]), int(a["high"]) - 1)
    if kind in ("normal", "qnormal", "lognormal", "qlognormal"):
        return d.FloatDistribution(EPS, 1 - EPS)
    if kind == "categorical":
        return d.CategoricalDistribution(list(range(len(a["p"]))))
    raise InvalidSpace(f"Optuna's samplers cannot draw hyperopt's {kind}")


def _to_hyperopt(kind: str, a: dict[str, Any], x: Any) -> Any:
    """The hyperopt value of Optuna's `x` for a label of kind `kind`."""
    if kind in ("normal", "qnormal", "lognormal", "qlognormal"):
        y = a["mu"] + a["sigma"] * _NORMAL.inv_cdf(min(max(float(x), EPS), 1 - EPS))
        if kind.endswith("lognormal"):
            y = math.exp(y)
        x = y
    if kind.startswith("q") and "q" in a:
        return float(round(float(x) / a["q"]) * a["q"])
    if kind in ("randint", "categorical") or isinstance(x, int):
        return int(x)
    return float(x)


def _to_optuna(kind: str, a: dict[str, Any], dist: Any, v: Any) -> Any:
    """The Optuna value of hyperopt's `v`: inside `dist` (a rounded value may fall just outside)."""
    if kind in ("normal", "qnormal", "lognormal", "qlognormal"):
        y = float(v)
        if kind.endswith("lognormal"):
            y = math.log(max(y, 1e-300))
        return min(max(_NORMAL.cdf((y - a["mu"]) / a["sigma"]), EPS), 1 - EPS)
    d = _optuna().distributions
    if isinstance(dist, d.CategoricalDistribution):
        return int(v)
    if isinstance(dist, d.IntDistribution):
        return min(max(int(v), dist.low), dist.high)
    x = min(max(float(v), dist.low), dist.high)
    if getattr(dist, "step", None):
        x = dist.low + round((x - dist.low) / dist.step) * dist.step
        x = min(max(x, dist.low), dist.high)
    return x


def _choice_counts(expr: Any) -> dict[str, int]:
    from hyperopt import pyll

    return {
        node.pos_args[0].arg["label"].obj: len(node.pos_args) - 1
        for node in pyll.dfs(expr)
        if node.name == "switch" and node.pos_args and getattr(node.pos_args[0], "name", None) == "hyperopt_param"
    }


def _walk(node: Any, visit: Any, seen: set[int]) -> None:
    """Visit the hyperopt parameters of `node` that are active: only the taken branch of a choice."""
    if id(node) in seen:
        return
    seen.add(id(node))
    if node.name == "switch" and node.pos_args and getattr(node.pos_args[0], "name", None) == "hyperopt_param":
        index = visit(node.pos_args[0].arg["label"].obj)
        _walk(node.pos_args[1 + index], visit, seen)
        return
    if node.name == "hyperopt_param":
        visit(node.arg["label"].obj)
        return
    for child in node.inputs():
        _walk(child, visit, seen)


def _draw(trial: Any, label: str, dist: Any) -> Any:
    d = _optuna().distributions
    if isinstance(dist, d.CategoricalDistribution):
        return trial.suggest_categorical(label, dist.choices)
    if isinstance(dist, d.IntDistribution):
        return trial.suggest_int(label, dist.low, dist.high, step=dist.step, log=dist.log)
    return trial.suggest_float(label, dist.low, dist.high, step=dist.step, log=dist.log)


# -- one suggestion --------------------------------------------------------------


def suggest(v: Any, tid: int, seed: int) -> tuple[dict, list[tuple[str, Any]]]:
    """Vals for new trial `tid` from the session's Optuna sampler, and the annotations to record.

    Args:
        v: the session's view, fresh, under the session's lock.
        tid: the new trial.
        seed: the seed of this suggestion.

    Returns:
        (hyperopt's `vals` of the trial, [(annotation key, value), ...]).
    """
    return study_of(v, tid, seed)()


def study_of(v: Any, tid: int, seed: int) -> Any:
    """The suggestion of `suggest`, in two steps: the study is built from the view now (under its
    mutex); the returned function asks it, reading the view no more, so that a slow sampler (GP)
    can ask without holding the mutex, which the lease keeper needs to renew the worker's lease."""
    from ._pruners import trial_values

    optuna = _optuna()
    st = v.state
    spec = st.spec
    _, domain = v.derived.space_and_domain(v.state)
    labels = _labels(domain)
    counts = _choice_counts(domain.expr)
    dists = {label: _distribution(kind, a, counts.get(label)) for label, (kind, a) in labels.items()}
    options = getattr(spec, "sampler_options", None)
    with _quiet():
        objectives = len(getattr(spec, "directions", None) or ()) or 1
        study = optuna.create_study(
            storage=optuna.storages.InMemoryStorage(), sampler=_make(spec.algo, options, seed),
            directions=["minimize"] * objectives,  # the losses (a multi-objective session's too)
        )
        storage, study_id = storage_of(study)
        for key, value in (st.annotations.get(STUDY_ATTRS) or {}).items():
            storage.set_study_system_attr(study_id, key, value)
        states = optuna.trial.TrialState
        for old in sorted(st.trials.values(), key=lambda t: t.tid):
            params, used = {}, {}
            for label, val in old.vals.items():
                if val and label in dists:
                    kind, a = labels[label]
                    params[label] = _to_optuna(kind, a, dists[label], val[0])
                    used[label] = dists[label]
            state = {"ok": states.COMPLETE, "pruned": states.PRUNED, "failed": states.FAIL}.get(
                old.status, states.RUNNING
            )
            result = old.result if old.status == "ok" and old.result else {}
            losses: list[Any] | None = result.get("losses") if objectives > 1 else [result.get("loss")]
            if state == states.COMPLETE and (
                losses is None or len(losses) != objectives
                or any(x is None or not math.isfinite(float(x)) for x in losses)
            ):
                state = states.FAIL
            study.add_trial(owned(optuna.trial.create_trial(
                state=state,
                values=[float(x) for x in losses or ()] if state == states.COMPLETE else None,  # type: ignore[arg-type]
                params=params,
                distributions=used,
                intermediate_values=dict(trial_values(st, old.tid)) if state == states.PRUNED else None,
                system_attrs=dict(st.annotations.get(f"{TRIAL_ATTRS}{old.tid}") or {}),
            )))
        before = dict(storage.get_study_system_attrs(study_id))

    def ask() -> tuple[dict, list[tuple[str, Any]]]:
        with _quiet():
            return _ask(study, tid, before, labels, dists, domain.expr)

    return ask


def _ask(study: Any, tid: int, before: dict, labels: dict, dists: dict, expr: Any) -> tuple[dict, list]:
    """Ask `study` for trial `tid`: hyperopt's vals, and the sampler's attrs to record as notes."""
    storage, study_id = storage_of(study)
    trial = study.ask()
    vals: dict[str, list] = {label: [] for label in labels}

    def visit(label: str) -> int:
        if vals[label]:
            return vals[label][0]
        kind, a = labels[label]
        x = _draw(trial, label, dists[label])
        vals[label] = [_to_hyperopt(kind, a, x)]
        return vals[label][0]

    _walk(expr, visit, set())
    attrs = {
        key: value for key, value in storage.get_trial_system_attrs(trial._trial_id).items()
        if not key.startswith(DERIVED_TRIAL_ATTRS)
    }
    after = dict(storage.get_study_system_attrs(study_id))
    notes: list[tuple[str, Any]] = []
    if attrs:
        notes.append((f"{TRIAL_ATTRS}{tid}", attrs))
    if after != before:
        notes.append((STUDY_ATTRS, after))
    return vals, notes
