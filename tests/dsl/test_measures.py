"""Measures and measure paths against values computed by hand."""

from __future__ import annotations

import math

import pytest

from slurm_search.dsl import MEASURES, MeasureError, SamplingResults, measurements, select


def flat():
    # settings a, b, c, d with values 1, 4, 4, -2 (trial order)
    return SamplingResults([(0, "a", 1.0), (1, "b", 4.0), (2, "c", 4.0), (3, "d", -2.0)], session_name="search:s")


def test_every_plain_measure():
    r = flat()
    mean = (1 + 4 + 4 - 2) / 4  # 1.75
    var = ((1 - mean) ** 2 + 2 * (4 - mean) ** 2 + (-2 - mean) ** 2) / 4  # 24.75 / 4 = 6.1875
    assert select(r, "mean") == pytest.approx(1.75)
    assert select(r, "std") == pytest.approx(math.sqrt(var)) == pytest.approx(2.4874685927665499)
    assert select(r, "min") == -2.0
    assert select(r, "max") == 4.0
    assert select(r, "cdf") == [-2.0, 1.0, 4.0, 4.0]
    assert select(r, "argmin") == "d"
    assert select(r, "argmax") == "b"  # the first of the tied settings, in trial order
    assert select(r, "point_values") == [("d", -2.0), ("a", 1.0), ("b", 4.0), ("c", 4.0)]
    assert select(r, "session_name") == "search:s"
    assert set(r) == {"mean", "std", "min", "max", "cdf", "argmin", "argmax", "point_values", "session_name"}


def nested():
    # Outer setting "lo": inner values 1, 3 (mean 2); "hi": 5, 9 (mean 7); "mid": 4, 4 (mean 4).
    inner = {
        "lo": SamplingResults([(0, 10, 1.0), (1, 11, 3.0)], "search:lo"),
        "hi": SamplingResults([(0, 20, 5.0), (1, 21, 9.0)], "search:hi"),
        "mid": SamplingResults([(0, 30, 4.0), (1, 31, 4.0)], "search:mid"),
    }
    return SamplingResults([(0, "lo", inner["lo"]), (1, "hi", inner["hi"]), (2, "mid", inner["mid"])], "search:out")


def test_two_level_measure_paths():
    r = nested()
    assert select(r, "argmax:mean") == "hi"
    assert select(r, "argmin:mean") == "lo"
    assert select(r, "mean:mean") == pytest.approx((2 + 7 + 4) / 3)
    assert select(r, "max:std") == pytest.approx(2.0)  # std of 5, 9
    assert select(r, "cdf:mean") == [2.0, 4.0, 7.0]
    assert select(r, "point_values:mean") == [("lo", 2.0), ("mid", 4.0), ("hi", 7.0)]
    assert select(r, "point_values:cdf") == [("lo", [1.0, 3.0]), ("hi", [5.0, 9.0]), ("mid", [4.0, 4.0])]
    assert select(r, "std:max") == pytest.approx(math.sqrt(((3 - 16 / 3) ** 2 + (9 - 16 / 3) ** 2 + (4 - 16 / 3) ** 2) / 3))
    # Nested results have no numeric measures of their own.
    assert set(r) == {"point_values", "session_name"}


def test_three_level_path():
    def leaf(values):
        return SamplingResults([(i, i, v) for i, v in enumerate(values)])

    mid_a = SamplingResults([(0, "e1", leaf([1.0, 3.0])), (1, "e2", leaf([5.0]))])  # means 2, 5
    mid_b = SamplingResults([(0, "e1", leaf([0.0])), (1, "e2", leaf([2.0, 2.0]))])  # means 0, 2
    top = SamplingResults([(0, "A", mid_a), (1, "B", mid_b)])
    assert select(top, "point_values:cdf:mean") == [("A", [2.0, 5.0]), ("B", [0.0, 2.0])]
    assert select(top, "argmax:mean:mean") == "A"  # 3.5 against 1.0


def test_measure_errors_are_one_line():
    with pytest.raises(MeasureError, match="mean:mean"):
        select(nested(), "mean")
    with pytest.raises(MeasureError, match="did you mean argmax"):
        select(flat(), "argmx")
    with pytest.raises(MeasureError, match="not sampling results"):
        select(flat(), "mean:mean")
    with pytest.raises(MeasureError, match="no results"):
        select(SamplingResults([]), "mean")
    for err in (MeasureError("a", "b"),):
        assert "\n" not in str(err)


def test_measurements_of_plain_pairs_and_names():
    assert measurements([("x", 2), ("y", 2)])["std"] == 0.0
    assert "model_argmax" in MEASURES and "point_values" in MEASURES
