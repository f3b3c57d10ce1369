"""Names: `type:name`, each part `[A-Za-z0-9][A-Za-z0-9_.-]*`, checked before
anything touches the filesystem."""

from __future__ import annotations

import os
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slurm_search import state

PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
part = st.from_regex(PART, fullmatch=True).filter(lambda s: len(s) < 100)

BAD = ["", ":", "a", "a:", ":b", "../x", "a:..", "a:.hidden", "a:b:c", "a/b", "a:b/c",
       "a:../b", "a:b\x00", "a :b", "a:b\n", "é:b", "-a:b", "a:_b", "a\\b:c", None, 3,
       b"a:b", ("a", "b")]


@pytest.mark.parametrize("bad", BAD)
def test_invalid_names_are_refused_before_the_filesystem(bad, slurm_search_home):
    for call in (state.read, state.exists, state.delete, state.records,
                 lambda n: state.create(n, 1), lambda n: state.update(n, 1),
                 lambda n: state.append(n, 1), lambda n: state.compact(n, 1),
                 state.restore_previous):
        with pytest.raises(state.InvalidName) as info:
            call(bad)
        assert isinstance(info.value, ValueError)
        assert info.value.name == bad
        assert "TYPE:NAME" in str(info.value)
    with pytest.raises(state.InvalidName):
        with state.transaction(bad):
            pass
    assert not slurm_search_home.exists()


def test_names_type_is_checked(slurm_search_home):
    with pytest.raises(state.InvalidName):
        state.names("../etc")
    assert not slurm_search_home.exists()


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(t=part, n=part)
def test_valid_names_map_inside_the_root(t, n, slurm_search_home):
    p = state.paths(f"{t}:{n}")
    assert state.split(f"{t}:{n}") == (t, n)
    assert p.object == slurm_search_home / t / n / "session_state.pickle"
    resolved = os.path.realpath(p.object)
    assert resolved.startswith(os.path.realpath(slurm_search_home) + os.sep)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(max_size=30))
def test_arbitrary_text_is_valid_exactly_when_it_matches(name, slurm_search_home):
    parts = name.split(":")
    valid = len(parts) == 2 and all(PART.fullmatch(x) for x in parts)
    if valid:
        assert state.exists(name) is False
    else:
        with pytest.raises(state.InvalidName):
            state.exists(name)
    assert not slurm_search_home.exists()
