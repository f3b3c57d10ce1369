"""Debug agents: seeded random returns, at once, without torch."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from slurm_search import rl

RUN = {"train_frames": 1000, "test_episodes": 20}


def test_same_seed_same_returns_other_seed_other_returns():
    first = rl.run_results("classic:CartPole-v1", "debug", {"lr": 0.01}, RUN, 7)
    assert rl.run_results("classic:CartPole-v1", "debug", {"lr": 0.01}, RUN, 7.0) == first
    assert rl.run_results("classic:CartPole-v1", "debug", {"lr": 0.01}, RUN, 8) != first
    assert len(first["returns_cdf"]) == 20 and first["returns_cdf"] == sorted(first["returns_cdf"])


def test_settings_and_agents_differ():
    means = {
        (agent, lr): rl.run_results("classic:CartPole-v1", agent, {"lr": lr}, RUN, 1)["return_mean"]
        for agent in ("debug", "debug1", "debug7")
        for lr in (0.01, 0.02)
    }
    assert len(set(means.values())) == len(means)


def test_no_torch_and_same_returns_in_another_process():
    code = (
        "import json, sys; from slurm_search import rl; "
        "r = rl.run_results('classic:CartPole-v1', 'debug2', {'lr': 0.5}, {'train_frames': 1, 'test_episodes': 5}, 3); "
        "print(json.dumps([r, 'torch' in sys.modules, 'all' in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    result, torch_loaded, all_loaded = json.loads(out.stdout)
    assert not torch_loaded and not all_loaded
    assert result == rl.run_results("classic:CartPole-v1", "debug2", {"lr": 0.5}, {"train_frames": 1, "test_episodes": 5}, 3)


def test_delay_imitates_training_time():
    start = time.monotonic()
    rl.run_results("classic:CartPole-v1", "debug", {}, {**RUN, "delay": 0.3}, 0)
    assert time.monotonic() - start >= 0.3  # a lower bound only: sleeping never takes less


def test_importing_rl_does_not_import_torch():
    code = (
        "import sys, json; import slurm_search.rl; "
        "print(json.dumps(sorted(m for m in ('torch', 'all', 'matplotlib', 'gymnasium') if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(out.stdout) == []


def test_debug_agent_accepts_any_environment_name_form():
    with pytest.raises(rl.UnknownEnvironment):
        rl.run_results("CartPole", "debug", {}, RUN, 0)
    assert rl.run_results("atari:Breakout", "debug", {}, RUN, 0)["return_mean"] > 0
