"""PBT's decisions and lineage on hand-written logs, its explore step, and its settings.

Pure functions: each case states the log (or the donor's values) and the
decision it must give, computed by hand.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hyperopt import hp

from slurm_search import session
from slurm_search.session._events import Checkpoint, Claim, Created, Exploit, Report, Result, Spec
from slurm_search.session._pbt import (
    Donor,
    exploit_decision,
    quantiles,
    rewind_allowance,
    schedule,
    trained_vals,
)
from slurm_search.session._pbt_explore import explore
from slurm_search.session._pruners import trial_values
from slurm_search.session._space import build_domain

OPTIONS = {
    "population": 4, "interval": 10, "quantile": 0.25, "perturb": (0.8, 1.2),
    "resample_probability": 0.0, "max_steps": 100, "explore": "perturb", "rewind_budget": 0.05,
}


def spec(**pbt):
    return Spec(
        objective="slurm_search.session.demo:pbt_toy", space=b"", algo="pbt", max_evals=4, seed=7,
        max_attempts=3, max_failures=0, lease_seconds=10.0, uid="u1", pbt={**OPTIONS, **pbt},
    )


def member(tid, h):
    return Claim(tid, f"w{tid}", 1, 100.0, 0.0, {"h": [h]})


def at(tid, step, loss, seq=1, ckpt_step=None):
    """Member `tid` reports `loss` at `step`, then checkpoints (seq, ckpt_step or step)."""
    return [
        Report(tid, f"w{tid}", 1, ((step, loss),), 1.0),
        Checkpoint(tid, f"w{tid}", 1, seq, step if ckpt_step is None else ckpt_step, 10, False, 1.0),
    ]


def population(losses, **pbt):
    """Four members with h = 0.1 * (tid + 1); member tid reports losses[tid] at step 10 and checkpoints."""
    log = [Created(spec(**pbt))] + [member(t, 0.1 * (t + 1)) for t in range(4)]
    for tid, loss in enumerate(losses):
        if loss is not None:
            log += at(tid, 10, loss)
    return session._model.replay(log)


def test_quantiles_follow_rays_rule():
    # ceil(n * q) members each, at most n // 2; fewer than two: none.
    assert quantiles([5], 0.25) == ([], [])
    assert quantiles([0, 1], 0.25) == ([0], [1])
    assert quantiles([0, 1, 2, 3], 0.25) == ([0], [3])
    assert quantiles([0, 1, 2, 3, 4], 0.25) == ([0, 1], [3, 4])
    assert quantiles([0, 1, 2], 0.5) == ([0], [2])


def test_the_worst_member_at_the_step_takes_the_best_ones_newest_checkpoint():
    st = population([1.0, 2.0, 3.0, 4.0])
    # n = 4, quantile 0.25: top [0], bottom [3].
    assert exploit_decision(st, 3, 10) == [Donor(0, 1, 10)]
    for tid in (0, 1, 2):
        assert exploit_decision(st, tid, 10) == []


def test_no_decision_off_the_interval_past_max_steps_or_alone():
    st = population([1.0, 2.0, 3.0, 4.0])
    assert exploit_decision(st, 3, 5) == []  # not a multiple of interval
    assert exploit_decision(st, 3, 0) == []
    assert exploit_decision(population([1.0, 2.0, 3.0, 4.0], max_steps=10), 3, 10) == []
    # Only member 3 has a value at step 10: nobody to compare with.
    assert exploit_decision(population([None, None, None, 4.0]), 3, 10) == []


def test_members_are_compared_at_the_same_step():
    st = population([1.0, 2.0, 3.0, 4.0])
    # Member 0 reports a much better value at step 20: at step 10 nothing changes.
    st = session._model.replay(at(0, 20, -100.0, seq=2), st)
    assert exploit_decision(st, 3, 10) == [Donor(0, 2, 20)]  # its newest checkpoint, which stands for 20
    # At step 20, member 0 is the only one with a value: no decision yet.
    st = session._model.replay(at(3, 20, 9.0, seq=2), st)
    assert exploit_decision(st, 3, 20) == [Donor(0, 2, 20)]  # n = 2: top [0], bottom [3]


def test_a_member_that_ran_ahead_is_compared_one_interval_earlier_and_may_go_back():
    st = population([4.0, 1.0, 2.0, 3.0])  # member 0 is the worst at step 10
    st = session._model.replay(at(0, 20, 9.0, seq=2), st)  # ... and the only one at step 20
    # Compared at step 10: top [1], bottom [0]. Member 1's checkpoint stands for 10, behind member 0's 20:
    # going back 10 steps is within the allowance (nothing saved yet, 0.05 * 4 * 100 = 20).
    assert rewind_allowance(st) == 20
    assert exploit_decision(st, 0, 20) == [Donor(1, 1, 10)]
    assert exploit_decision(population([4.0, 1.0, 2.0, 3.0], rewind_budget=0), 0, 10) == [Donor(1, 1, 10)]
    no_slack = session._model.replay(at(0, 20, 9.0, seq=2), population([4.0, 1.0, 2.0, 3.0], rewind_budget=0))
    assert exploit_decision(no_slack, 0, 20) == []  # going back would train more than the budget
    # A member two intervals ahead is not compared at all.
    st = session._model.replay(at(0, 30, 9.5, seq=3), st)
    assert exploit_decision(st, 0, 30) == []


def test_exploits_that_went_back_use_up_the_allowance_and_those_that_jumped_ahead_refill_it():
    st = population([4.0, 1.0, 2.0, 3.0])
    assert rewind_allowance(st) == 20
    # Member 0 went back from 20 to 10 (10 steps again); member 3 jumped from 10 to 20 (10 skipped).
    st = session._model.replay([_exploit(0, 1, 10, 2, 0.2, step=20)], st)
    assert rewind_allowance(st) == 10
    st = session._model.replay([*at(1, 20, 0.5, seq=2), _exploit(3, 1, 20, 2, 0.2, step=10)], st)
    assert rewind_allowance(st) == 20


def test_donors_ahead_of_the_member_come_first():
    for seed in range(6):  # whatever the seeded order, the donor ahead is tried first
        log = [Created(spec()._replace(seed=seed, pbt={**OPTIONS, "quantile": 0.5}))]
        log += [member(t, 0.1 * (t + 1)) for t in range(4)]
        for tid, loss in enumerate((1.0, 2.0, 5.0, 3.0)):
            log += at(tid, 10, loss)
        # Member 2 runs ahead to step 20 (alone there: compared at 10, in the bottom half); member 0's
        # newest checkpoint stands for 25 (ahead of it), member 1's for 10 (behind it).
        log += [*at(2, 20, 6.0, seq=2), *at(0, 25, 0.5, seq=2)]
        st = session._model.replay(log)
        assert exploit_decision(st, 2, 20) == [Donor(0, 2, 25), Donor(1, 1, 10)]


def test_a_donor_without_a_usable_checkpoint_is_not_chosen():
    # Member 0's newest checkpoint stands for step 5, before the step compared: no donor.
    log = [Created(spec())] + [member(t, 0.5) for t in range(4)]
    log += [Report(0, "w0", 1, ((10, 1.0),), 1.0), Checkpoint(0, "w0", 1, 1, 5, 10, False, 1.0)]
    for tid, loss in ((1, 2.0), (2, 3.0), (3, 4.0)):
        log += at(tid, 10, loss)
    st = session._model.replay(log)
    assert exploit_decision(st, 3, 10) == []
    # A finished member (its checkpoints are removed) is neither ranked nor a donor:
    # members 1, 2, 3 remain, top [1], bottom [3].
    st = session._model.replay([Result(0, "w0", 1, {"loss": 1.0, "status": "ok"}, 2.0, 1.0)], st)
    assert exploit_decision(st, 3, 10) == [Donor(1, 1, 10)]
    # A donor checkpoint at or past max_steps would leave nothing to train.
    st = population([1.0, 2.0, 3.0, 4.0])
    st = session._model.replay(at(0, 100, 0.5, seq=2), st)
    assert exploit_decision(st, 3, 10) == []


def test_the_donor_is_drawn_from_the_top_quantile_seeded_by_seed_tid_and_step():
    st = population([1.0, 2.0, 3.0, 4.0], quantile=0.5)  # top [0, 1], bottom [2, 3]
    donors = [Donor(0, 1, 10), Donor(1, 1, 10)]
    for tid in (2, 3):
        order = np.random.default_rng([7, tid, 10, 0]).permutation(2)
        assert exploit_decision(st, tid, 10) == [donors[int(i)] for i in order]
        again = population([1.0, 2.0, 3.0, 4.0], quantile=0.5)
        assert exploit_decision(st, tid, 10) == exploit_decision(again, tid, 10)
    assert exploit_decision(st, 1, 10) == []
    # Ties are broken by tid: 0 and 1 tie at the top, 2 and 3 at the bottom.
    st = population([1.0, 1.0, 5.0, 5.0])
    assert exploit_decision(st, 3, 10) == [Donor(0, 1, 10)] and exploit_decision(st, 2, 10) == []


def _exploit(tid, donor, donor_step, seq, new, step=None, attempt=1, old=None):
    return Exploit(
        tid, f"w{tid}", attempt, donor_step if step is None else step, donor, 1, donor_step, seq,
        old or {"h": [0.4]}, {"h": [new]}, 3.0,
    )


def test_an_exploit_moves_vals_checkpoint_curve_and_schedule():
    st = population([1.0, 2.0, 3.0, 4.0])
    st = session._model.replay([Report(0, "w0", 1, ((5, 0.5),), 1.0)], st)
    st = session._model.replay([_exploit(3, 0, 10, 2, 0.08)], st)
    trial = st.trials[3]
    assert trial.vals == {"h": [0.08]} and trial.status == "running"
    assert trial.checkpoint == (1, 2, 10)  # the copy: its own seq 2, standing for step 10
    assert trial_values(st, 3) == {5: 0.5, 10: 1.0}  # the donor's curve up to its step
    assert schedule(st, 3) == ((0, {"h": [0.1]}), (10, {"h": [0.08]}))
    assert schedule(st, 0) == ((0, {"h": [0.1]}),)
    # Member 1 then exploits member 3 at step 20: it inherits member 3's schedule.
    st = session._model.replay([*at(3, 20, 0.2, seq=3), _exploit(1, 3, 20, 2, 0.096, old={"h": [0.2]})], st)
    assert schedule(st, 1) == ((0, {"h": [0.1]}), (10, {"h": [0.08]}), (20, {"h": [0.096]}))
    assert [e.tid for e in st.pbt.exploits] == [3, 1]


def test_explore_starts_from_the_vals_that_trained_the_donors_checkpoint():
    st = population([1.0, 2.0, 3.0, 4.0])
    # Member 0 exploits member 1 at step 10 (copy at 10) and now holds h = 0.5, untrained.
    st = session._model.replay([_exploit(0, 1, 10, 2, 0.5, old={"h": [0.1]})], st)
    assert st.trials[0].vals == {"h": [0.5]}
    # Its checkpoint at 10 was trained with member 1's h (0.2): that is what a member taking it explores from.
    assert trained_vals(st, 0, 10) == {"h": [0.2]}
    st = session._model.replay(at(0, 20, 0.1, seq=3), st)
    assert trained_vals(st, 0, 20) == {"h": [0.5]}
    assert trained_vals(st, 3, 10) == {"h": [0.4]}  # never exploited: its own vals


def test_an_exploit_of_an_attempt_that_lost_the_trial_changes_nothing():
    st = population([1.0, 2.0, 3.0, 4.0])
    st = session._model.replay([_exploit(3, 0, 10, 2, 0.08, attempt=2)], st)
    assert st.trials[3].vals == {"h": [0.4]} and st.trials[3].checkpoint == (1, 1, 10)
    assert st.pbt is None


SPACE = {
    "lr": hp.loguniform("lr", math.log(1e-4), math.log(1e-1)),
    "h": hp.uniform("h", 0.0, 1.0),
    "q": hp.quniform("q", 0, 10, 0.5),
    "n": hp.randint("n", 1, 10),
    "act": hp.choice("act", ["relu", "tanh", "elu"]),
    "free": hp.normal("free", 0, 1),
}


def _explore(vals, **options):
    opts = {**OPTIONS, **options}
    return explore(build_domain(SPACE), vals, opts, 7, 3, 10)


def _flat(vals):
    return {label: v[0] for label, v in vals.items()}


def test_explore_perturbs_within_bounds_and_moves_choices_to_a_neighbour():
    vals = {"lr": [0.05], "h": [0.9], "q": [5.0], "n": [5], "act": [1], "free": [2.0]}
    down = _flat(_explore(vals, perturb=(0.8,)))
    assert down == pytest.approx({"lr": 0.04, "h": 0.72, "q": 4.0, "n": 4, "act": 0, "free": 1.6})
    up = _flat(_explore({"lr": [0.09], "h": [0.9], "q": [9.5], "n": [9], "act": [2], "free": [-2.0]}, perturb=(1.2,)))
    # Clipped: lr at 0.1, h at 1, q at 10, n at 9 (randint's high is exclusive), act stays the last choice.
    assert up == pytest.approx({"lr": 0.1, "h": 1.0, "q": 10.0, "n": 9, "act": 2, "free": -2.4})
    assert isinstance(up["n"], int) and isinstance(up["act"], int)
    # Seeded from (seed, tid, step): the same call, the same values.
    assert _explore(vals) == _explore(vals)


def test_explore_resamples_from_the_space_with_resample_probability():
    vals = {"lr": [0.05], "h": [0.9], "q": [5.0], "n": [5], "act": [1], "free": [2.0]}
    fresh = _explore(vals, resample_probability=1.0)
    assert fresh != vals
    assert 1e-4 <= fresh["lr"][0] <= 1e-1 and 0 <= fresh["h"][0] <= 1 and 1 <= fresh["n"][0] < 10
    assert fresh["act"][0] in (0, 1, 2)
    assert _explore(vals, resample_probability=1.0) == fresh


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"pbt_options": {"population": 4}}, "pbt_options:interval"),
        ({"pbt_options": {"population": 4, "interval": 5, "speed": 1}}, "pbt_options:speed"),
        ({"pbt_options": {"population": 4, "interval": 5, "quantile": 0.6}}, "pbt_options:quantile"),
        ({"pbt_options": {"population": 1, "interval": 5}}, "pbt_options:population"),
        ({"pbt_options": {"population": 4, "interval": 0}}, "pbt_options:interval"),
        ({"pbt_options": {"population": 4, "interval": 5, "perturb": [0.8, -1]}}, "pbt_options:perturb"),
        ({"pbt_options": {"population": 4, "interval": 5, "resample_probability": 2}}, "resample_probability"),
        ({"pbt_options": {"population": 4, "interval": 5}, "max_evals": 5}, "max_evals"),
        ({"pbt_options": {"population": 4, "interval": 5}, "pruner": "asha"}, "pruner"),
        ({"pbt_options": {"interval": 5}}, "pbt_options:population"),
        ({"pbt_options": {"population": 4, "interval": 5, "explore": "bandit"}}, "pbt_options:explore"),
        ({"pbt_options": {"population": 4, "interval": 5, "rewind_budget": -0.1}}, "pbt_options:rewind_budget"),
    ],
)
def test_bad_pbt_settings_are_one_line_and_store_nothing(settings, words):
    with pytest.raises(session.InvalidSetting) as err:
        session.create_session(
            "slurm_search.session.demo:pbt_toy", {"h": hp.uniform("h", 0, 1)}, algo="pbt", **settings
        )
    assert words in str(err.value) and "\n" not in str(err.value)
    assert session.list_sessions(all=True) == []


def test_pbt_options_need_algo_pbt_and_a_flat_space():
    with pytest.raises(session.InvalidSetting, match="pbt_options"):
        session.create_session("slurm_search.session.demo:pbt_toy", {"h": hp.uniform("h", 0, 1)},
                               max_evals=2, pbt_options={"interval": 5})
    nested = {"opt": hp.choice("opt", [{"lr": hp.uniform("lr", 0, 1)}, {"m": hp.uniform("m", 0, 1)}])}
    with pytest.raises(session.InvalidSpace, match="flat space"):
        session.create_session("slurm_search.session.demo:pbt_toy", nested, algo="pbt",
                               pbt_options={"population": 2, "interval": 5})
    assert session.list_sessions(all=True) == []
    name = session.create_session("slurm_search.session.demo:pbt_toy", {"h": hp.uniform("h", 0, 1)}, algo="pbt",
                                  pbt_options={"population": 3, "interval": 5})
    info = session.info(name)
    assert info.max_evals == 3 and info.pbt_options["quantile"] == 0.25
    assert info.pbt_options["perturb"] == (0.8, 1.2) and info.pbt_options["max_steps"] is None


def test_ssearch_start_takes_pbt_options_and_refuses_bad_ones_in_one_line():
    import subprocess
    import sys
    from pathlib import Path

    ssearch = str(Path(sys.executable).with_name("ssearch"))
    for bad, said in (
        (["pbt_options:interval=5", "pbt_options:quantile=0.9"], "invalid pbt_options:quantile 0.9"),
        ([], "invalid pbt_options:interval None"),
        (["pbt_options:interval=5", "pruner=asha"], "invalid pruner 'asha'"),
    ):
        proc = subprocess.run([ssearch, "start", "demo", "algo=pbt", "max_evals=4", *bad, "--method=inline"],
                              capture_output=True, text=True)
        assert proc.returncode == 1 and said in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert session.list_sessions(all=True) == []
    proc = subprocess.run([ssearch, "start", "demo", "algo=pbt", "max_evals=3", "pbt_options:interval=5",
                           "--method=inline"], capture_output=True, text=True, check=True)
    name = proc.stdout.strip()
    assert session.info(name).pbt_options["interval"] == 5 and session.progress(name).completed == 3


def test_pb2_explores_where_the_gp_expects_the_most_improvement():
    from slurm_search.session._pb2 import pb2_explore

    hs = (0.1, 0.3, 0.5, 0.7, 0.9)
    pbt = {**OPTIONS, "population": 5, "explore": "pb2"}
    log = [Created(spec()._replace(max_evals=5, pbt=pbt))] + [member(t, h) for t, h in enumerate(hs)]
    # Each member improves by exp(-((h - 0.7) / 0.2)**2) per interval: best at h = 0.7.
    for tid, h in enumerate(hs):
        gain = math.exp(-(((h - 0.7) / 0.2) ** 2))
        log.append(Report(tid, f"w{tid}", 1, tuple((s, -gain * s / 10) for s in (10, 20, 30, 40)), 1.0))
    st = session._model.replay(log)
    domain = build_domain({"h": hp.uniform("h", 0.0, 1.0)})
    new = pb2_explore(st, domain, {"h": [0.1]}, 0, 40)
    assert abs(new["h"][0] - 0.7) < 0.1, new
    assert pb2_explore(st, domain, {"h": [0.1]}, 0, 40) == new  # seeded: every host alike
    # Too little data (one interval in all): PBT's perturbation instead.
    st = session._model.replay(log[:6] + [Report(0, "w0", 1, ((10, -1.0), (20, -2.0)), 1.0)])
    assert pb2_explore(st, domain, {"h": [0.1]}, 0, 20) is None


def test_pb2_needs_bounded_hyperparameters():
    with pytest.raises(session.InvalidSpace, match="pb2 needs bounded hyperparameters, but w have none"):
        space = {"h": hp.uniform("h", 0, 1), "w": hp.normal("w", 0, 1)}
        session.create_session("slurm_search.session.demo:pbt_toy", space, algo="pbt",
                               pbt_options={"population": 2, "interval": 5, "explore": "pb2"})
    assert session.list_sessions(all=True) == []
