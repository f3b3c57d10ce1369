"""Creating, naming, listing and deleting sessions."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from hyperopt import hp

from slurm_search import session, state
from slurm_search.session import InvalidObjective, InvalidSetting, InvalidSpace

OBJ = "session_test_objectives:noop"
SPACE = {"x": hp.uniform("x", 0, 1)}


def test_default_name_is_a_fresh_readable_phrase():
    names = {session.create_session(OBJ, SPACE, max_evals=1) for _ in range(3)}
    assert len(names) == 3
    for n in names:
        assert re.fullmatch(r"search:[a-z]+_[a-z]+_[a-z]+_[a-z]+", n)


def test_bare_names_are_of_type_search_and_names_are_unique():
    assert session.create_session(OBJ, SPACE, max_evals=1, name="mine") == "search:mine"
    with pytest.raises(session.SessionExists):
        session.create_session(OBJ, SPACE, max_evals=1, name="search:mine")
    assert session.create_session(OBJ, SPACE, max_evals=1, name="ale:mine") == "ale:mine"
    with pytest.raises(session.InvalidSessionName):
        session.create_session(OBJ, SPACE, max_evals=1, name="../etc")


@pytest.mark.parametrize(
    "path, reason",
    [
        ("no_such_module_xyz:f", "cannot import no_such_module_xyz"),
        ("session_test_objectives:nope", "has no attribute 'nope'"),
        ("session_test_objectives", "expected 'package.module:function'"),
        ("session_test_objectives:NOT_CALLABLE", "not a function"),
    ],
)
def test_invalid_objective(path, reason):
    with pytest.raises(InvalidObjective) as err:
        session.create_session(path, SPACE, max_evals=1)
    assert reason in err.value.reason
    assert "\n" not in str(err.value) and path in str(err.value)
    assert state.names() == []  # nothing was stored


def test_objective_given_as_a_function():
    from slurm_search.session import demo

    name = session.create_session(demo.objective, demo.space(), max_evals=1)
    assert session.info(name).objective == "slurm_search.session.demo:objective"
    with pytest.raises(InvalidObjective):
        session.create_session(lambda p, c: 0.0, SPACE, max_evals=1)


@pytest.mark.parametrize(
    "kw",
    [
        {"algo": "grid"},
        {"max_evals": 0},
        {"max_evals": None},
        {"max_evals": 2.5},
        {"max_evals": 3, "seed": -1},
        {"max_evals": 3, "max_attempts": 0},
        {"max_evals": 3, "lease_seconds": 0},
        {"max_evals": 3, "metadata": "x"},
        {"max_evals": 3, "context": lambda: 0},
    ],
)
def test_invalid_settings(kw):
    with pytest.raises(InvalidSetting):
        session.create_session(OBJ, SPACE, **kw)


def test_invalid_space():
    with pytest.raises(InvalidSpace):
        session.create_session(OBJ, {"a": hp.uniform("x", 0, 1), "b": hp.uniform("x", 0, 1)}, max_evals=1)


def test_info_and_defaults():
    name = session.create_session(OBJ, SPACE, max_evals=200, metadata={"who": "me"}, context={"c": 1})
    i = session.info(name)
    assert (i.algo, i.max_evals, i.max_attempts, i.max_failures, i.lease_seconds) == ("rand", 200, 3, 20, 60.0)
    assert i.metadata == {"who": "me"} and isinstance(i.seed, int)
    assert session.context(name) == {"c": 1}
    # Proportional, with no floor: a small session fails at its first failed trial.
    assert session.info(session.create_session(OBJ, SPACE, max_evals=10)).max_failures == 1
    assert session.info(session.create_session(OBJ, SPACE, max_evals=2)).max_failures == 0


def test_unknown_session_suggests_close_names():
    session.create_session(OBJ, SPACE, max_evals=1, name="quick_brown_fox")
    with pytest.raises(session.UnknownSession) as err:
        session.progress("quick_brown_fax")
    assert err.value.close == ["search:quick_brown_fox"]
    assert "did you mean search:quick_brown_fox" in str(err.value)


def test_list_sessions_hides_done_ones_unless_all():
    a = session.create_session(OBJ, SPACE, max_evals=1, algo="rand", name="a")
    b = session.create_session(OBJ, SPACE, max_evals=1, algo="tpe", name="b")
    session.work_on(a)
    assert [s.name for s in session.list_sessions()] == [b]
    listed = {s.name: s for s in session.list_sessions(all=True)}
    assert set(listed) == {a, b}
    assert (listed[a].status, listed[a].completed, listed[a].algo) == ("done", 1, "rand")
    assert (listed[b].status, listed[b].completed, listed[b].max_evals) == ("running", 0, 1)


def test_a_corrupt_session_is_listed_as_corrupt_and_the_others_still_are():
    good = session.create_session(OBJ, SPACE, max_evals=3, name="good")
    bad = session.create_session(OBJ, SPACE, max_evals=3, name="bad")
    for name in (good, bad):
        t = session.next_trial(name, "w")
        session.record_result(name, "w", t.tid, 1.0)
    log = state.paths(bad).log
    data = bytearray(log.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 8] = b"\xff" * 8  # damage a frame that has frames after it
    log.write_bytes(bytes(data))
    listed = {s.name: s for s in session.list_sessions(all=True)}
    assert listed[good].status == "running" and listed[good].completed == 1
    assert listed[bad].status == "corrupt" and "corrupt" in listed[bad].error
    assert listed[bad].completed is None


def test_a_search_object_that_is_not_a_session_is_listed_as_corrupt():
    state.create("search:stray", {"not": "a session"})
    good = session.create_session(OBJ, SPACE, max_evals=1, name="fine")
    state.create("exp:other", {"an": "experiment"})  # not a session: not listed
    listed = {s.name: s for s in session.list_sessions(all=True)}
    assert set(listed) == {"search:stray", good}
    assert listed["search:stray"].status == "corrupt"


def test_delete_session():
    name = session.create_session(OBJ, SPACE, max_evals=1)
    session.progress(name)
    session.delete_session(name)
    with pytest.raises(session.UnknownSession):
        session.progress(name)
    with pytest.raises(session.UnknownSession):
        session.delete_session(name)
    again = session.create_session(OBJ, SPACE, max_evals=2, name=name)  # the name is free again
    assert session.progress(again).max_evals == 2


def test_importing_the_package_and_listing_import_neither_hyperopt_nor_torch():
    session.create_session(OBJ, SPACE, max_evals=1, name="listed")
    code = (
        "import sys; from slurm_search import session; "
        "print(len(session.list_sessions(all=True)), session.progress('listed').status); "
        "print('hyperopt' in sys.modules, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["1", "running", "False", "False"]
