"""Hyperparameter coercion (a pure function) and name parsing."""

from __future__ import annotations

import numpy as np
import pytest

from slurm_search import rl
from slurm_search.rl._hparams import coerce_hyperparameters

DEFAULTS = {"n_envs": 4, "n_steps": 32, "lr": 3e-3, "flag": True, "constructor": print}


def test_integer_hyperparameters_are_coerced():
    got = coerce_hyperparameters("classic:a2c", {"n_envs": 8.0, "n_steps": np.float64(15.6), "lr": np.float32(0.5)}, DEFAULTS)
    assert got == {"n_envs": 8, "n_steps": 16, "lr": 0.5}
    assert type(got["n_envs"]) is int and type(got["n_steps"]) is int and type(got["lr"]) is float


def test_float_hyperparameters_stay_float_and_others_pass():
    got = coerce_hyperparameters("a", {"lr": 1, "flag": False, "constructor": len}, DEFAULTS)
    assert got == {"lr": 1.0, "flag": False, "constructor": len} and type(got["lr"]) is float


def test_unknown_hyperparameters_are_all_named():
    with pytest.raises(rl.UnknownHyperparameter) as info:
        coerce_hyperparameters("classic:a2c", {"zeta": 1, "alpha": 2, "lr": 1}, DEFAULTS)
    assert info.value.names == ["alpha", "zeta"]
    assert info.value.choices == sorted(DEFAULTS)


def test_errors_survive_pickling():
    import pickle

    for error in (
        rl.UnknownAgent("x", ["a", "b"]),
        rl.UnknownEnvironment("y", ["c"], "why"),
        rl.UnknownHyperparameter("a", ["n"], ["m"]),
        rl.BadRunParams("k", 1, "bad"),
    ):
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error) and str(copy) == str(error)


def test_parse_names():
    assert str(rl.parse_agent("classic:a2c")) == "classic:a2c"
    assert rl.parse_agent("debug12").is_debug
    assert str(rl.parse_env("classic:CartPole-v1")) == "classic:CartPole-v1"
    assert "a2c" in rl.preset_names("atari") and "sac" in rl.preset_names("continuous")
