"""Parameters: paths, merging, command-line values, override checks, resume diffs, seeds."""

from __future__ import annotations

import math

import pytest
from hyperopt import hp

from slurm_search.dsl import BadValue, UnknownParameter, parse_value
from slurm_search.dsl._params import (
    check_overrides,
    derive_seed,
    differences,
    flatten,
    format_value,
    get_param,
    merged,
    point_key,
    with_param,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("4", 4),
        ("-3", -3),
        ("0.25", 0.25),
        ("1e-3", 0.001),
        ("true", True),
        ("False", False),
        ("inf", math.inf),
        ("-inf", -math.inf),
        ("1,2.5,x", [1, 2.5, "x"]),
        ("7,", [7]),
        ("slurm", "slurm"),
        ("nan", "nan"),
    ],
)
def test_parse_value(text, value):
    assert parse_value(text) == value
    assert parse_value(format_value(value)) == value


def test_paths_and_merge():
    params = {"search": {"threads": 4, "method": "cpu"}, "noise": 0.5}
    assert get_param(params, "search:threads") == 4
    assert get_param(params, "search:nope", None) is None
    updated = with_param(params, "search:threads", 8)
    assert updated["search"]["threads"] == 8 and params["search"]["threads"] == 4
    assert merged(params, {"search:method": "slurm", "eval": {"seeds": 3}}) == {
        "search": {"threads": 4, "method": "slurm"},
        "noise": 0.5,
        "eval": {"seeds": 3},
    }
    assert flatten(params) == {"search:threads": 4, "search:method": "cpu", "noise": 0.5}


def test_unknown_override_names_the_closest():
    params = {"tune": {"seeds": 3, "settings": 10}, "noise": 0.5}
    with pytest.raises(UnknownParameter) as err:
        check_overrides(params, {"tune:seds": 4})
    assert "--tune:seeds" in str(err.value) and "--allow-new-params" in str(err.value)
    assert "\n" not in str(err.value)
    assert check_overrides(params, {"tune:seds": 4}, allow_new=True) == {"tune:seds": 4}


@pytest.mark.parametrize(
    ("override", "accepted"),
    [
        ({"tune:seeds": "abc"}, None),
        ({"tune:seeds": 2.5}, None),
        ({"tune:seeds": True}, None),
        ({"tune:seeds": 5}, {"tune:seeds": 5}),
        ({"noise": 1}, {"noise": 1.0}),
        ({"noise": "loud"}, None),
        ({"flag": 1}, None),
        ({"flag": False}, {"flag": False}),
        ({"tune:method": "cpu"}, {"tune:method": "cpu"}),
        ({"grid": 3}, {"grid": [3]}),
        ({"xy_space": 0.5}, {"xy_space": 0.5}),
        ({"tune": 3}, None),
    ],
)
def test_override_kinds(override, accepted):
    params = {"tune": {"seeds": 3, "method": "inline"}, "noise": 0.5, "flag": True, "grid": [1, 2], "xy_space": hp.uniform("x", 0, 1)}
    if accepted is None:
        with pytest.raises(BadValue) as err:
            check_overrides(params, override)
        assert "\n" not in str(err.value)
    else:
        assert check_overrides(params, override) == accepted


def test_differences_compare_spaces_by_content():
    a = {"xy_space": hp.uniform("x", 0, 1), "tune": {"seeds": 3}}
    b = {"xy_space": hp.uniform("x", 0, 1), "tune": {"seeds": 3}}
    assert differences(a, b) == []
    c = {"xy_space": hp.uniform("x", 0, 2), "tune": {"seeds": 4}, "new": 1}
    changed = {path for path, _, _ in differences(a, c)}
    assert changed == {"xy_space", "tune:seeds", "new"}


def test_seeds_and_point_keys_are_stable():
    # Fixed values: these must not change between versions, or resumed runs
    # would draw other samples than the runs they resume.
    assert derive_seed(1, "best_xy", "argmax:mean") == derive_seed(1, "best_xy", "argmax:mean")
    assert derive_seed(1, "a") != derive_seed(2, "a")
    assert derive_seed(1, "a", "b") != derive_seed(1, "a:b")
    assert 0 <= derive_seed(123, "x") < 2**31 - 1
    assert point_key({"x": 0.1, "y": 2}) == point_key({"y": 2, "x": 0.1})
    assert point_key(0.1) != point_key(0.1000001)
