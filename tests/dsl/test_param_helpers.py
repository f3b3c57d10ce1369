"""The original slurm-search's parameter helpers."""

from __future__ import annotations

from hyperopt import hp

from slurm_search.dsl import (
    flattened_params,
    mapped_params,
    params_equal,
    params_str,
    unflattened_params,
    unwrapped_settings,
    updated_params,
)


def test_updated_params_merges_nested_dicts():
    base = {"search": {"method": "slurm", "threads": 8}, "agent": "classic:a2c"}
    assert updated_params(base, {"search": {"method": "inline"}, "env": "x"}) == {
        "search": {"method": "inline", "threads": 8}, "agent": "classic:a2c", "env": "x",
    }
    assert base["search"]["method"] == "slurm"  # not changed


def test_flattening_round_trip():
    params = {"a": {"b": 1, "c": {"d": 2}}, "e": 3}
    assert flattened_params(params, delim=":") == {"a:b": 1, "a:c:d": 2, "e": 3}
    assert unflattened_params(flattened_params(params, delim=":")) == params


def test_mapped_params_passes_paths():
    seen = []
    out = mapped_params(lambda v, path: seen.append(path) or v * 2, {"b": [1, (2,)], "a": 3})
    assert out == {"a": 6, "b": [2, (4,)]}
    assert seen == [["a"], ["b", 0], ["b", 1, 0]]


def test_params_equal_ignores_spaces_and_params_str_is_stable():
    one = {"hp_space": {"lr": hp.uniform("lr", 0, 1)}, "n": 1}
    two = {"hp_space": {"lr": hp.uniform("lr", 0, 2)}, "n": 1}
    assert params_equal(one, two)
    assert not params_equal(one, {**two, "n": 2})
    assert not params_equal(one, {"n": 1})
    assert params_str({"b": 1, "a": {"c": 2}}) == params_str({"a": {"c": 2}, "b": 1})


def test_unwrapped_settings_of_hyperopt_vals():
    assert unwrapped_settings({"lr": [0.1], "inactive": [], "plain": 3}) == {"lr": 0.1, "plain": 3}
