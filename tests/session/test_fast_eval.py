"""_fast_eval gives hyperopt's values exactly: rand and tpe suggestions, space_eval.

Real hyperopt on both sides, compared value for value (types, key order and
the bits of every float), for many spaces, tids, seeds and histories.
"""

from __future__ import annotations

import copy
import math

import hyperopt
import numpy as np
import pytest
from hyperopt import JOB_STATE_ERROR, JOB_STATE_RUNNING, Trials, fmin, hp, pyll, rand, tpe
from hyperopt.pyll import scope

from slurm_search.rl import spaces as rl_spaces
from slurm_search.session import _fast_eval, _space, demo
from slurm_search.session._suggesting import _NO_TRIALS

if not hasattr(scope, "fast_eval_test_affine"):

    @scope.define
    def fast_eval_test_affine(x, a=1.0, b=0.0):
        return a * x + b


if not hasattr(scope, "fast_eval_test_boom"):

    @scope.define
    def fast_eval_test_boom(x):
        if x > 0.5:
            raise ValueError("boom")
        return x


def _spaces():
    nested = hp.choice(
        "model",
        [
            {"kind": "svm", "C": hp.loguniform("C", -3, 3), "kernel": hp.choice("kernel", ["rbf", "linear"])},
            {
                "kind": "tree",
                "depth": hp.quniform("depth", 1, 10, 1),
                "split": hp.choice(
                    "split", [{"crit": "gini"}, {"crit": "entropy", "min": hp.qloguniform("min", 0, 3, 1)}]
                ),
            },
            "nothing",
        ],
    )
    return {
        "demo": demo.space(),
        "dists": {
            "u": hp.uniform("u", -1, 1),
            "lu": hp.loguniform("lu", -5, 0),
            "qu": hp.quniform("qu", 0, 20, 3),
            "qlu": hp.qloguniform("qlu", 0, 4, 2),
            "n": hp.normal("n", 1, 2),
            "ln": hp.lognormal("ln", 0, 1),
            "qn": hp.qnormal("qn", 0, 5, 1),
            "qln": hp.qlognormal("qln", 1, 1, 1),
            "r1": hp.randint("r1", 7),
            "r2": hp.randint("r2", 3, 11),
            "ui": hp.uniformint("ui", 2, 9),
            "c": hp.choice("c", ["a", "b", 3, None]),
            "pc": hp.pchoice("pc", [(0.2, "x"), (0.5, "y"), (0.3, "z")]),
        },
        "nested": {"m": nested, "lr": hp.lognormal("lr", -3, 1)},
        "conditional": hp.choice(
            "branch",
            [
                ("a", hp.uniform("a_x", 0, 1)),
                ("b", hp.normal("b_x", 0, 1), hp.randint("b_n", 1, 4)),
            ],
        ),
        "scope_fn": {
            "y": scope.fast_eval_test_affine(hp.uniform("x", 0, 1), a=3.0, b=hp.normal("b", 0, 1)),
            "z": scope.int(hp.quniform("z", 0, 8, 1)),
            "w": hp.uniform("w", 0, 1) + hp.uniform("v", 0, 1) * 2,
        },
        "single": hp.uniform("only", 0, 1),
        "list_top": [hp.choice("l0", [1, 2]), hp.uniform("l1", 0, 1)],
        "a2c": rl_spaces.a2c_space(),
        "a2c_vl": rl_spaces.a2c_space(minimum_batch=4, value_loss=True),
        "ppo": rl_spaces.ppo_space(),
        "dqn": rl_spaces.dqn_space(),
        "vsarsa": rl_spaces.vsarsa_space(),
        "atari_dqn": rl_spaces.atari_dqn_space(),
    }


SPACES = _spaces()
NAMES = sorted(SPACES)
SEEDS = (0, 987654321)


def assert_identical(a, b, where="value"):
    assert type(a) is type(b), (where, a, b)
    if isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            assert_identical(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_identical(x, y, f"{where}[{i}]")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes(), where
    elif isinstance(a, (float, np.floating)):
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes(), (where, a, b)
    else:
        assert a == b, (where, a, b)


@pytest.fixture(scope="module")
def domains():
    return {name: _space.build_domain(sp) for name, sp in SPACES.items()}


@pytest.mark.parametrize("name", NAMES)
def test_rand_and_space_eval(name, domains):
    space, domain = SPACES[name], domains[name]
    for seed in SEEDS:
        for tid in range(51):
            theirs = rand.suggest([tid], domain, _NO_TRIALS, seed)[0]["misc"]["vals"]
            ours = _fast_eval.rand_vals(domain, tid, seed)
            assert_identical(theirs, ours, f"{name} tid {tid} seed {seed}")
            # the session's own entry points, against what they did before
            s_theirs = _space._plain_vals(
                rand.suggest([tid], domain, _NO_TRIALS, _space.trial_seed(seed, tid))[0]["misc"]["vals"]
            )
            assert_identical(s_theirs, _space.suggest("rand", domain, _NO_TRIALS, tid, seed))
            assignment = _space.assignment(theirs)
            assert_identical(
                hyperopt.space_eval(space, assignment), _fast_eval.space_eval(space, assignment), name
            )
            assert_identical(hyperopt.space_eval(space, assignment), _space.params(space, theirs))


def _history(space, n, seed=1):
    """n finished trials (fmin, random search), then some running, failed and missing."""
    trials = Trials()
    if n:
        rng = np.random.default_rng(seed)
        fmin(
            lambda p: float(rng.normal()),
            space,
            algo=rand.suggest,
            max_evals=n,
            trials=trials,
            rstate=np.random.default_rng(seed),
            show_progressbar=False,
        )
    docs = [copy.deepcopy(d) for d in trials.trials]
    kept = []
    for doc in docs:
        tid = doc["tid"]
        if tid % 7 == 3:
            continue  # a gap
        if tid % 5 == 1:
            doc["state"] = JOB_STATE_RUNNING
            doc["result"] = {"status": "new"}
        elif tid % 6 == 2:
            doc["state"] = JOB_STATE_ERROR
            doc["result"] = {"status": "fail", "failure": "x"}
        elif tid % 11 == 4:
            doc["result"]["loss"] = math.inf
        kept.append(doc)
    if len(kept) > 3:
        kept[2]["result"]["loss"] = kept[1]["result"].get("loss", 0.0)  # a tie
    history = Trials()
    history.insert_trial_docs(kept)
    history.refresh()
    return history


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("n", [0, 15, 30, 70])
def test_tpe(name, n, domains):
    space, domain = SPACES[name], domains[name]
    trials = _history(space, n)
    for tid in (n, n + 5):
        for seed in SEEDS:
            theirs = tpe.suggest([tid], domain, trials, seed)[0]["misc"]["vals"]
            ours = _fast_eval.tpe_vals(domain, trials, tid, seed)
            assert_identical(theirs, ours, f"{name} history {n} tid {tid} seed {seed}")
    s_theirs = _space._plain_vals(tpe.suggest([n], domain, trials, _space.trial_seed(7, n))[0]["misc"]["vals"])
    assert_identical(s_theirs, _space.suggest("tpe", domain, trials, n, 7))


def test_the_graphs_run_as_programs(domains):
    """No graph of these spaces falls back to rec_eval (else nothing is faster)."""
    for name, domain in domains.items():
        memo = {domain.s_new_ids: [0], domain.s_rng: np.random.default_rng(0)}
        assert _fast_eval._program(domain.s_idxs_vals, memo).ops is not None, name
        observed, observed_loss, posterior = _fast_eval._posterior(domain, 1.0, 0.25)
        memo.update({observed["idxs"]: {}, observed["vals"]: {}, observed_loss["idxs"]: []})
        memo[observed_loss["vals"]] = []
        assert _fast_eval._program(posterior, memo).ops is not None, name
        space = SPACES[name]
        _fast_eval.space_eval(space, _space.assignment(_fast_eval.rand_vals(domain, 0, 0)))
        _, expr, labelled = _fast_eval._spaces[id(space)]
        memo = {node: 0 for _, node in labelled}
        assert _fast_eval._program(expr, memo).ops is not None, name


def test_tpe_history_from_tpe():
    """A history made by TPE itself (not random), past the startup trials."""
    space = SPACES["nested"]
    trials = Trials()
    fmin(
        lambda p: p["lr"],
        space,
        algo=tpe.suggest,
        max_evals=45,
        trials=trials,
        rstate=np.random.default_rng(3),
        show_progressbar=False,
    )
    domain = _space.build_domain(space)
    for tid in range(45, 60):
        assert_identical(
            tpe.suggest([tid], domain, trials, tid)[0]["misc"]["vals"],
            _fast_eval.tpe_vals(domain, trials, tid, tid),
        )


def test_evaluate_matches_rec_eval_with_and_without_memo():
    x = hp.uniform("x", 0, 1)
    expr = pyll.as_apply({"a": x, "b": scope.fast_eval_test_affine(x, a=2.0), "c": hp.choice("c", [x, 5])})
    nodes = {n.arg["label"].obj: n for n in pyll.dfs(expr) if n.name == "hyperopt_param"}
    for x_value, c_value in ((0.25, 0), (0.75, 1), (0.5, 0)):
        memo = {nodes["x"]: x_value, nodes["c"]: c_value}
        assert_identical(pyll.rec_eval(expr, memo=memo), _fast_eval.evaluate(expr, memo))
    # an np.int64 and a 0-d array as the switch index, as rec_eval reads them
    for index in (np.int64(1), np.array(0)):
        memo = {nodes["x"]: 0.1, nodes["c"]: index}
        assert_identical(pyll.rec_eval(expr, memo=memo), _fast_eval.evaluate(expr, memo))
    # a bad index raises what rec_eval raises
    for index, error in ((-1, ValueError), (0.5, TypeError), (7, IndexError)):
        memo = {nodes["x"]: 0.1, nodes["c"]: index}
        with pytest.raises(error):
            pyll.rec_eval(expr, memo=memo, print_node_on_error=False)
        with pytest.raises(error):
            _fast_eval.evaluate(expr, memo)


def test_errors_of_the_space_propagate():
    space = {"y": scope.fast_eval_test_boom(hp.uniform("x", 0, 1))}
    assert _space.params(space, {"x": [0.25]}) == {"y": 0.25}
    with pytest.raises(ValueError, match="boom"):
        _space.params(space, {"x": [0.75]})
    # a function the space calls that this process has not defined: KeyError, as hyperopt's
    expr = pyll.Apply("fast_eval_test_undefined", [pyll.as_apply(hp.uniform("u", 0, 1))], {})
    with pytest.raises(KeyError):
        _fast_eval.space_eval({"v": expr}, {"u": 0.5})
    with pytest.raises(KeyError):
        hyperopt.space_eval({"v": expr}, {"u": 0.5})


def test_idxs_vals_as_hyperopt():
    from hyperopt.base import miscs_to_idxs_vals

    trials = _history(SPACES["nested"], 40)
    miscs = [doc["misc"] for doc in trials.trials]
    keys = list(_space.build_domain(SPACES["nested"]).params)
    assert_identical(miscs_to_idxs_vals(miscs, keys=keys), _fast_eval._idxs_vals(miscs, keys))
    bad = copy.deepcopy(miscs)
    bad[3]["idxs"][keys[0]] = [bad[3]["tid"] + 1]
    bad[3]["vals"][keys[0]] = [0]
    for fn in (lambda: miscs_to_idxs_vals(bad, keys=keys), lambda: _fast_eval._idxs_vals(bad, keys)):
        with pytest.raises(AssertionError):
            fn()
