"""A sampling node's algo="pbt": the settings checked as the session checks them."""

from __future__ import annotations

import pytest

from slurm_search.dsl import BadValue, maximizing_sampling, random_sampling
from slurm_search.dsl._settings import check_pbt


def test_a_maximizing_node_takes_algo_pbt_and_its_options():
    node = maximizing_sampling("h", "expr", sample_count=4, algo="pbt", pbt_options={"interval": 5},
                               maximize_measure="mean")
    assert (node.algo, node.pbt_options) == ("pbt", {"interval": 5})
    options = check_pbt("maximizing_sampling('h')", "maximize", "pbt", {"interval": 5}, 4, (None, None))
    assert options["population"] == 4 and options["interval"] == 5 and options["quantile"] == 0.25
    assert check_pbt("w", "maximize", None, None, 4, (None, None)) is None
    assert random_sampling("x", "expr", sample_count=2).algo is None


@pytest.mark.parametrize(
    ("strategy", "algo", "options", "pruner", "words"),
    [
        ("random", "pbt", {"interval": 5}, (None, None), "PBT needs a goal"),
        ("maximize", "tpe", None, (None, None), "w algo"),
        ("maximize", "pbt", {"interval": 5}, ("asha", {}), "none with algo pbt"),
        ("maximize", "pbt", {}, (None, None), "w pbt_options:interval"),
        ("maximize", "pbt", {"interval": 5, "population": 3}, (None, None), "w max_evals"),
        ("maximize", None, {"interval": 5}, (None, None), "w pbt_options"),
    ],
)
def test_bad_pbt_settings_of_a_node(strategy, algo, options, pruner, words):
    with pytest.raises(BadValue) as err:
        check_pbt("w", strategy, algo, options, 4, pruner)
    assert words in str(err.value) and "\n" not in str(err.value)
