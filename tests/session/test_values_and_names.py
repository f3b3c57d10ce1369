"""One value grammar for both CLIs, and one name generator without repeated words."""

from __future__ import annotations

import math
import random

import pytest

from slurm_search import session
from slurm_search.session import InvalidValue, format_value, parse_value
from slurm_search.session._words import ADJECTIVES, NOUNS


@pytest.mark.parametrize(
    "text, value",
    [
        ("true", True), ("False", False), ("none", None), ("NULL", None),
        ("inf", math.inf), ("-inf", -math.inf), ("3", 3), ("-2", -2), ("0.5", 0.5), ("1e-3", 1e-3),
        ("nan", "nan"), ("adam", "adam"), ("1,2", [1, 2]), ("5,", [5]), ("a,true,none", ["a", True, None]),
        ("[1, 2]", [1, 2]), ("(1, 'x')", (1, "x")), ("{'a': 1}", {"a": 1}), ("1:00:00", "1:00:00"),
    ],
)
def test_the_grammar(text, value):
    assert parse_value(text) == value
    assert type(parse_value(text)) is type(value)


@pytest.mark.parametrize("value", [True, None, 3, 0.25, math.inf, -math.inf, "adam", [1, 2], [5], ["a", 2.5], {"a": [1]}, (1, 2)])
def test_format_value_reads_back(value):
    assert parse_value(format_value(value)) == value


def test_a_malformed_literal_is_one_clear_error():
    with pytest.raises(InvalidValue, match=r"cannot read the value '\[1, 2': .*write a Python literal"):
        parse_value("[1, 2")


def test_both_command_lines_read_values_alike():
    from slurm_search.dsl._cli import parse_overrides
    from slurm_search.session.workers._cli_args import parse_assignments

    texts = ["1,2", "none", "inf", "true", "[1, 2]", "x"]
    settings, _ = parse_assignments([f"k{i}={t}" for i, t in enumerate(texts)])
    overrides = parse_overrides([f"--k{i}={t}" for i, t in enumerate(texts)])
    assert [settings[f"k{i}"] for i in range(len(texts))] == [overrides[f"k{i}"] for i in range(len(texts))]
    assert settings["k0"] == [1, 2] and settings["k1"] is None


def test_names_never_repeat_a_word():
    assert not set(ADJECTIVES) & set(NOUNS)
    rng = random.Random(0)
    for adjectives in (2, 3):
        for _ in range(2000):
            words = session.random_phrase(rng, adjectives=adjectives).split("_")
            assert len(words) == adjectives + 1 and len(set(words)) == len(words)
            assert set(words[:-1]) <= set(ADJECTIVES) and words[-1] in NOUNS
