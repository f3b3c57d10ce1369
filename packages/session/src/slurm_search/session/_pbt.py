"""Population-based training: the exploit decision and the lineage, from the session's log alone.

A PBT session (`algo="pbt"`) is a population of `population` members, each
a trial whose parameters hyperopt's `rand` draws from the space. A member
trains, reports (`report(value, step)`) and checkpoints
(`save_checkpoint(obj, step)`). When it checkpoints at a multiple of
`interval`, its worker decides under the session's lock, on the log as it
stands (Jaderberg et al. 2017; asynchronous, as Ray Tune's PBT: no member
waits for the others):

* **Rank at the same step.** The members still training (running, or
  waiting for their next attempt) whose reports hold a value at that step
  are ranked by it (lower is better; ties by tid). A member that ran ahead
  of all the others is compared one interval earlier, where another member
  has a value (else it would never be compared, and a bad leader would
  escape selection). With `n` of them, the quantile holds
  `ceil(n * quantile)` members, at most `n // 2` (Ray's rule); fewer than
  two members: no decision.
* **Exploit.** A member in the bottom quantile takes the newest checkpoint
  of a member of the top quantile: one whose newest checkpoint, per the
  log, stands for the step compared or a later one (and for a step below
  `max_steps`). A finished member's checkpoints are removed, so it is
  never a donor; nor is a deleted one. The donor is drawn at random from
  those, seeded from (session seed, tid, step): every host decides alike.
  Donors at or ahead of the member's own step come first; taking one
  behind it (a member that ran ahead) makes it train those steps again,
  which the population may do only within `rewind_allowance`, so that its
  training stays within its budget (`population * max_steps`, plus
  `rewind_budget`).
* **Explore** (`_pbt_explore.py`, which needs hyperopt): each of the
  values that trained the donor's checkpoint (`trained_vals`: a donor that
  has just exploited holds new values nothing was trained with yet) is
  multiplied by one of the `perturb` factors (clipped to the space's
  bounds; a choice moves to a neighbour), or with `resample_probability`
  drawn afresh from the space.

The decision is recorded as an `Exploit` event: the member's vals become the
new ones, its newest checkpoint the copy of the donor's, its reports the
donor's up to the donor's step (the curve that checkpoint stands for), and
its schedule the donor's up to that step followed by the new vals. This
module folds those events (`apply_exploit`, called by `_model.apply`) and
answers the questions (`exploit_decision`, `schedule`); it reads no clock
and touches no file.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ._errors import InvalidSetting
from ._events import Exploit
from ._pruners import PruningState, TrialReports, _whole, trial_values

__all__ = [
    "PBT_DEFAULTS",
    "Donor",
    "PbtState",
    "apply_exploit",
    "check_pbt_options",
    "exploit_decision",
    "quantiles",
    "rewind_allowance",
    "schedule",
    "trained_vals",
]

PBT_DEFAULTS: dict[str, Any] = {
    "population": None,
    "interval": None,
    "quantile": 0.25,
    "perturb": (0.8, 1.2),
    "resample_probability": 0.25,
    "max_steps": None,
    "explore": "perturb",
    "rewind_budget": 0.05,
}
EXPLORES = ("perturb", "pb2")
_TRAINING = ("running", "new")




def _fraction(setting: str, value: Any, top: float, closed: bool) -> float:
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real) and math.isfinite(value)
    if ok:
        number = float(value)
        ok = number > 0 and (number <= top if closed else number < top)
    if not ok:
        raise InvalidSetting(f"pbt_options:{setting}", value, f"a number > 0 and {'<=' if closed else '<'} {top:g}")
    return number


def check_pbt_options(options: Any, max_evals: Any) -> dict[str, Any]:
    """PBT's options with defaults filled in.

    Args:
        options: a dict of `population` (the members; default `max_evals`),
            `interval` (steps between exploits; required), `quantile` (the
            fraction of members in the top and bottom quantiles, in (0, 0.5],
            default 0.25), `perturb` (the factors of explore, default
            (0.8, 1.2)), `resample_probability` (in [0, 1], default 0.25),
            `max_steps` (the step at which a member ends: no exploit from
            there on; default none), `explore` (`perturb`, PBT's, the
            default; or `pb2`, PB2's GP bandit: see _pb2.py),
            `rewind_budget` (in [0, 1], default 0.05: see `rewind_allowance`).
        max_evals: `create_session`'s, None if not given.

    Raises:
        InvalidSetting: an unknown option, a value out of range, or a
            population that is not max_evals.
    """
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise InvalidSetting("pbt_options", options, f"a dict of {', '.join(PBT_DEFAULTS)}")
    merged = dict(PBT_DEFAULTS)
    for key, value in options.items():
        if key not in merged:
            raise InvalidSetting(f"pbt_options:{key}", value, f"one of {', '.join(PBT_DEFAULTS)}")
        if key in ("population", "interval", "max_steps"):
            number = _whole(value)
            if key == "max_steps" and value is None:
                number = None
            elif number is None or number < (2 if key == "population" else 1):
                least = 2 if key == "population" else 1
                raise InvalidSetting(f"pbt_options:{key}", value, f"a whole number >= {least}")
            merged[key] = number
        elif key == "explore":
            if value not in EXPLORES:
                raise InvalidSetting("pbt_options:explore", value, "perturb (PBT) or pb2 (PB2's GP bandit)")
            merged[key] = value
        elif key == "quantile":
            merged[key] = _fraction(key, value, 0.5, closed=True)
        elif key == "rewind_budget":
            if value == 0 and not isinstance(value, bool):
                merged[key] = 0.0
            else:
                merged[key] = _fraction(key, value, 1.0, closed=True)
        elif key == "resample_probability":
            if value == 0 and not isinstance(value, bool):
                merged[key] = 0.0
            else:
                merged[key] = _fraction(key, value, 1.0, closed=True)
        else:  # perturb
            factors = value if isinstance(value, (list, tuple)) else None
            if not factors or any(
                isinstance(f, bool) or not isinstance(f, numbers.Real) or not math.isfinite(f) or f <= 0
                for f in factors
            ):
                raise InvalidSetting("pbt_options:perturb", value, "a list of factors > 0, e.g. [0.8, 1.2]")
            merged[key] = tuple(float(f) for f in factors)
    if merged["population"] is None:
        if max_evals is None:
            raise InvalidSetting("pbt_options:population", None, "the number of members (a whole number >= 2)")
        merged["population"] = _whole(max_evals)
        if merged["population"] is None or merged["population"] < 2:
            raise InvalidSetting("max_evals", max_evals, "a PBT population: a whole number >= 2")
    elif max_evals is not None and max_evals != merged["population"]:
        raise InvalidSetting("max_evals", max_evals, f"the PBT population ({merged['population']}) or nothing")
    if merged["interval"] is None:
        raise InvalidSetting("pbt_options:interval", None, "the steps between exploits (a whole number >= 1)")
    return merged


@dataclass
class PbtState:
    """The lineage: per member its schedule, and every exploit in log order.

    Attributes:
        schedules: tid -> ((step, vals), ...): the vals in effect from each
            step on, for members that exploited (the others: their vals from 0).
        exploits: the `Exploit` events, in log order.
    """

    schedules: dict[int, tuple[tuple[int, dict], ...]] = field(default_factory=dict)
    exploits: list[Exploit] = field(default_factory=list)


def schedule(state: Any, tid: int) -> tuple[tuple[int, dict], ...]:
    """Trial `tid`'s schedule: ((step, vals), ...), the vals in effect from each step on.

    A member that never exploited has one entry, (0, its vals). One that
    exploited has its donor's schedule up to the donor's step, then the
    explored vals: following it from scratch replays the member's training.
    """
    pbt: PbtState | None = getattr(state, "pbt", None)
    if pbt is not None and tid in pbt.schedules:
        return pbt.schedules[tid]
    trial = state.trials.get(tid)
    return ((0, dict(trial.vals)),) if trial is not None else ()


def trained_vals(state: Any, tid: int, step: int) -> dict:
    """The vals that trained trial `tid`'s checkpoint at `step`: its schedule's last entry before `step`.

    Explore starts from these, not from the donor's current vals: a donor
    that has just exploited itself holds new vals that nothing was trained
    with yet.
    """
    entries = [vals for start, vals in schedule(state, tid) if start < step]
    if entries:
        return dict(entries[-1])
    trial = state.trials.get(tid)
    return dict(trial.vals) if trial is not None else {}


def apply_exploit(state: Any, event: Exploit, put: Any) -> None:
    """Fold an `Exploit` into the state (`_model.apply` calls it; `put` is `_model._put`)."""
    trial = state.trials.get(event.tid)
    if (
        trial is None
        or trial.status != "running"
        or trial.owner != event.worker
        or trial.attempt != event.attempt
    ):
        return
    if getattr(state, "pbt", None) is None:
        state.pbt = PbtState()
    pbt: PbtState = state.pbt
    inherited = tuple(entry for entry in schedule(state, event.donor) if entry[0] < event.donor_step)
    pbt.schedules[event.tid] = (*inherited, (event.donor_step, dict(event.new_vals)))
    pbt.exploits.append(event)
    # The member's curve becomes the one the copied checkpoint stands for.
    if state.pruning is None:
        state.pruning = PruningState()
    donor_values = {s: v for s, v in trial_values(state, event.donor).items() if s <= event.donor_step}
    last = max(donor_values.items()) if donor_values else None
    state.pruning.reports[event.tid] = TrialReports(event.attempt, donor_values, last)
    put(
        state,
        trial,
        trial._replace(
            vals=dict(event.new_vals),
            checkpoint=(event.attempt, event.seq, event.donor_step),
            refresh_time=event.time,
        ),
    )


def quantiles(ranked: list[int], quantile: float) -> tuple[list[int], list[int]]:
    """(top, bottom) of tids ranked best first: `ceil(n * quantile)` each, at most `n // 2`."""
    n = len(ranked)
    if n < 2:
        return [], []
    size = min(math.ceil(n * quantile), n // 2)
    return ranked[:size], ranked[n - size:]


class Donor(NamedTuple):
    """A member whose newest checkpoint an exploiting member may take."""

    tid: int
    seq: int
    step: int


def _compared(state: Any, step: int, interval: int) -> list[tuple[float, int, int]]:
    """(value, tid, s) of the training members with a value at the step `s` they are compared at.

    `s` is `step` when another member still training has reached it; else
    `step - interval`, when another has reached that: a member that runs
    ahead of the others would otherwise be alone at each of its steps,
    never compared, and a bad one would escape selection. Empty when
    neither has two members.
    """
    curves = {t.tid: trial_values(state, t.tid) for t in state.trials.values() if t.status in _TRAINING}
    for at in (step, step - interval):
        found = [(curve[at], tid, at) for tid, curve in curves.items() if at in curve]
        if len(found) >= 2:
            return found
    return []


def rewind_allowance(state: Any) -> float:
    """Steps a member may still go back by taking a checkpoint behind its own step.

    The exploits' net saving so far (a member that took a checkpoint ahead
    of it skipped those steps; one that took a checkpoint behind it trains
    them again) plus `rewind_budget` times the population's budget
    (`population * max_steps`; without `max_steps`, nothing): the
    population's training stays within that budget, plus the steps redone
    after a worker died.
    """
    options = state.spec.pbt
    pbt: PbtState | None = getattr(state, "pbt", None)
    saved = sum(e.donor_step - e.step for e in pbt.exploits) if pbt is not None else 0
    max_steps = options.get("max_steps")
    slack = options.get("rewind_budget", 0.0) * options["population"] * max_steps if max_steps else 0.0
    return saved + slack


def exploit_decision(state: Any, tid: int, step: int) -> list[Donor]:
    """Whether trial `tid`, at `step`, exploits, and whom: the donors in the order to try.

    Empty when it does not exploit: `step` is not a positive multiple of
    `interval` or is at or past `max_steps`; fewer than two training members
    have a value at the step compared (`step`, or `step - interval` for a
    member that ran ahead); `tid` is not in the bottom quantile there; or
    no member of the top quantile has a usable checkpoint (one that stands
    for the step compared or later, below `max_steps`, and, if it is
    behind `step`, within `rewind_allowance`). Otherwise the eligible top
    members, shuffled with a generator seeded from (session seed, tid,
    step), those at or past `step` first: the first is the donor; the
    others stand in, in that order, only if its file turns out unreadable.
    """
    options = state.spec.pbt
    if not options or step <= 0 or step % options["interval"]:
        return []
    max_steps = options.get("max_steps")
    if max_steps is not None and step >= max_steps:
        return []
    at_step = _compared(state, step, options["interval"])
    if not at_step:
        return []
    compared = at_step[0][2]
    ranked = [t for _, t, _ in sorted(at_step)]
    top, bottom = quantiles(ranked, options["quantile"])
    if tid not in bottom:
        return []
    allowance = rewind_allowance(state)
    donors = []
    for other in top:
        newest = state.trials[other].checkpoint
        if newest is None or newest[2] is None or newest[2] < compared:
            continue
        if max_steps is not None and newest[2] >= max_steps:
            continue
        if step - newest[2] > allowance:
            continue  # going back that far would train more than the budget
        donors.append(Donor(other, newest[1], newest[2]))
    if not donors:
        return []
    import numpy as np  # not at import: reading a log (`ssearch list`) needs no numpy

    order = np.random.default_rng([state.spec.seed, tid, step, 0]).permutation(len(donors))
    shuffled = [donors[int(i)] for i in order]
    # Those at or past the member's own step first: one behind it makes it train steps again.
    return [d for d in shuffled if d.step >= step] + [d for d in shuffled if d.step < step]
