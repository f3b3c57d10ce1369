"""The language without sessions: parameter names, use, memo, paths, text forms."""

from __future__ import annotations

import pytest

from slurm_search.dsl import (
    BadValue,
    SamplingError,
    accepts_param_names,
    ast_abstract,
    ast_text,
    enumeration_sampling,
    maximizing_sampling,
    param,
    params,
    random_sampling,
    use,
)
from slurm_search.dsl._nodes import evaluate_tree, navigate
from slurm_search.dsl._runtime import evaluation

seen = []


@accepts_param_names
def record(a, b="literal", run=None):
    seen.append((a, b, run))
    return (a, b, run, param("search:threads"), sorted(params()))


@accepts_param_names
def add(a, b):
    return a + b


def evaluate(tree, p):
    with evaluation(p, None):
        return evaluate_tree(tree, [])


def test_string_arguments_naming_parameters_are_replaced():
    seen.clear()
    p = {"env": "CartPole", "search": {"threads": 4}, "run": {"frames": 10}}
    out = evaluate({"r": record("env", "not_a_param", "run_params")}, p)
    # "run_params" names no parameter, so it falls back to "run".
    assert out["r"] == ("CartPole", "not_a_param", {"frames": 10}, 4, ["env", "run", "search"])
    out = evaluate({"r": record("search:threads")}, p)
    assert out["r"][:2] == (4, "literal")


def test_node_arguments_are_evaluated_first_and_shared_nodes_once():
    seen.clear()
    shared = record("x")
    tree = {"one": add(1, add(2, 3)), "first": shared, "again": shared}
    out = evaluate(tree, {"x": 7})
    assert out["one"] == 6
    assert out["first"] == out["again"]
    assert len(seen) == 1  # the shared node ran once


def test_use_overrides_a_parameter_path_with_a_node_value():
    tree = {"r": use("search:threads", add("a", 1))[add("search:threads", 100)]}
    assert evaluate(tree, {"a": 2, "search": {"threads": 4}}) == {"r": 103}
    with pytest.raises(Exception, match="no expression"):
        evaluate({"r": use("a", 1)}, {"a": 2})


def test_navigate_follows_paths_through_every_kind_of_node():
    inner = add("x", 1)
    sampling = random_sampling("x", inner, sample_count=3)
    tree = {"a": {"b": use("y", sampling["argmax"])[sampling["mean"]]}}
    assert navigate(tree, ["a", "b", "use_arg", "argmax"]) is sampling
    assert navigate(tree, ["a", "b", "use_val", "mean", "@0123abcd"]) is inner
    with pytest.raises(KeyError):
        navigate(tree, ["a", "c"])


def test_sampling_outside_a_run_and_bad_settings_are_one_line_errors():
    with pytest.raises(SamplingError):
        evaluate({"r": random_sampling("x", add("x", 1), sample_count=2)}, {"x_space": [1, 2]})
    with pytest.raises(BadValue, match="sample_count"):
        evaluate({"r": random_sampling("x", add("x", 1), sample_count="n")}, {"x_space": [1, 2]})
    with pytest.raises(BadValue, match="method"):
        evaluate({"r": random_sampling("x", add("x", 1), sample_count=2, method="gpu")}, {"x_space": [1]})
    with pytest.raises(BadValue, match="list to enumerate"):
        evaluate({"r": enumeration_sampling("x", add("x", 1))}, {"x_space": 3})


def test_text_and_abstract_forms():
    grid = enumeration_sampling("env", random_sampling("seed", add("env", "seed"), sample_count="n"))
    tune = maximizing_sampling("hp", grid, sample_count=4, maximize_measure="mean:mean")
    tree = {
        "best": tune["argmax:mean:mean"],
        "spread": grid["std:mean"],
        "curve": grid["point_values:mean"],
        "mean": grid["mean:std"],
    }
    text = ast_text(tree)
    assert "enumeration_sampling[env ~ env_space]" in text and "maximizing_sampling[hp ~ hp_space]" in text
    abstract = ast_abstract(tree)
    assert "argmax(hp ~ hp_space) [" in abstract
    assert "1/n ∑(env in env_space) [" in abstract
    assert "E(seed ~ seed_space) [" in abstract
    assert "√Var(env in env_space)" in abstract
    assert "λ env in env_space -> (" in abstract
    assert "√Var(seed ~ seed_space)" in abstract
