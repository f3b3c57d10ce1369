"""run_results with real autonomous-learning-library agents (A2C, DQN on
CartPole; A2C on Atari Breakout) and with the debug agents."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest

from slurm_search import rl

CARTPOLE = "classic:CartPole-v1"
A2C_RUN = {"train_frames": 2000, "test_episodes": 3, "device": "cpu"}
# DQN only learns after replay_start_size frames; keep it small to train at all.
DQN_HP = {"replay_start_size": 200, "minibatch_size": 32.0, "final_exploration_step": 1500}
DQN_RUN = {"train_frames": 1500, "test_episodes": 2, "device": "cpu"}


def check_result(result, episodes):
    assert set(result) == {"return_mean", "return_var", "returns_cdf"}
    cdf = result["returns_cdf"]
    assert len(cdf) == episodes and cdf == sorted(cdf)
    # CartPole gives +1 per step and lasts at most 500 steps.
    assert all(1 <= value <= 500 for value in cdf)
    assert result["return_mean"] == pytest.approx(sum(cdf) / len(cdf))
    mean = result["return_mean"]
    assert result["return_var"] == pytest.approx(sum((v - mean) ** 2 for v in cdf) / len(cdf))


def test_a2c_cartpole_same_seed_same_returns(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    hp = {"n_steps": 8.0, "lr": 3e-3}  # a float n_steps must be coerced to int
    first = rl.run_results(CARTPOLE, "classic:a2c", hp, A2C_RUN, 11)
    again = rl.run_results(CARTPOLE, "classic:a2c", hp, A2C_RUN, 11.0)
    other = rl.run_results(CARTPOLE, "classic:a2c", hp, A2C_RUN, 12)
    check_result(first, 3)
    assert again == first
    assert other["returns_cdf"] != first["returns_cdf"]
    # ALL's TensorBoard logs went under the store, never into the cwd.
    assert os.listdir(tmp_path) == ["home"]
    logs = os.listdir(rl.tensorboard_dir(rl.parse_run_params(A2C_RUN)))
    # Outside a search: named by agent, environment, seed and time, one folder per run.
    assert sorted(name.rsplit("_", 1)[0] for name in logs if name.startswith("a2c_CartPole-v1_")) == [
        "a2c_CartPole-v1_seed11", "a2c_CartPole-v1_seed11", "a2c_CartPole-v1_seed12"
    ]


def test_runs_leave_no_thread_behind_and_their_logs_written():
    # ALL's TensorBoard writer runs a thread that ALL's close() leaves alive:
    # a worker evaluating thousands of trials would gather thousands.
    rl.run_results(CARTPOLE, "classic:a2c", None, {**A2C_RUN, "train_frames": 300}, 1)
    before = threading.active_count()
    for seed in (2, 3, 4):
        rl.run_results(CARTPOLE, "classic:a2c", None, {**A2C_RUN, "train_frames": 300}, seed)
    assert threading.active_count() == before
    folder = rl.tensorboard_dir(rl.parse_run_params(A2C_RUN))
    events = [path for path in folder.rglob("events.out.tfevents.*")]
    assert len(events) >= 4 and all(path.stat().st_size > 0 for path in events)


def test_same_seed_same_returns_in_another_process():
    here = rl.run_results(CARTPOLE, "classic:a2c", {}, A2C_RUN, 5)
    code = (
        "import json, sys; from slurm_search import rl; "
        f"print(json.dumps(rl.run_results({CARTPOLE!r}, 'classic:a2c', {{}}, {A2C_RUN!r}, 5)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == here


def test_dqn_cartpole_same_seed_same_returns():
    first = rl.run_results(CARTPOLE, "classic:dqn", DQN_HP, DQN_RUN, 3)
    again = rl.run_results(CARTPOLE, "classic:dqn", DQN_HP, DQN_RUN, 3)
    check_result(first, 2)
    assert again == first


@pytest.mark.slow
def test_a2c_atari_breakout_few_hundred_frames():
    result = rl.run_results(
        "atari:Breakout", "atari:a2c", {"n_envs": 2}, {"train_frames": 200, "test_episodes": 1, "device": "cpu"}, 1
    )
    assert len(result["returns_cdf"]) == 1
    # Breakout scores are whole bricks, never negative.
    score = result["return_mean"]
    assert score >= 0 and score == int(score)


def test_train_episodes_bound_training():
    result = rl.run_results(CARTPOLE, "classic:vpg", {}, {"train_episodes": 3, "test_episodes": 2}, 0)
    check_result(result, 2)


def test_unknown_agent_names_the_presets():
    with pytest.raises(rl.UnknownAgent) as info:
        rl.run_results(CARTPOLE, "classic:a3c", {}, A2C_RUN, 0)
    message = str(info.value)
    assert "\n" not in message and "'classic:a3c'" in message
    assert "classic:a2c" in message and "classic:dqn" in message
    assert info.value.choices[0] == "classic:a2c"
    with pytest.raises(rl.UnknownAgent, match="atari:a2c.*debug"):
        rl.run_results(CARTPOLE, "a2c", {}, A2C_RUN, 0)


def test_unknown_environment_names_the_closest():
    with pytest.raises(rl.UnknownEnvironment) as info:
        rl.run_results("classic:CartPol-v1", "classic:a2c", {}, A2C_RUN, 0)
    assert "classic:CartPole-v1" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(rl.UnknownEnvironment, match="atari:Breakout"):
        rl.run_results("atari:Breakot", "atari:a2c", {}, A2C_RUN, 0)
    with pytest.raises(rl.UnknownEnvironment, match=r"classic:<gymnasium id>, atari:<game>"):
        rl.run_results("CartPole-v1", "classic:a2c", {}, A2C_RUN, 0)


def test_unknown_hyperparameter_names_the_valid_ones():
    with pytest.raises(rl.UnknownHyperparameter) as info:
        rl.run_results(CARTPOLE, "classic:a2c", {"n_step": 16, "lr": 0.01}, A2C_RUN, 0)
    error = info.value
    assert error.names == ["n_step"] and "n_steps" in error.choices and "lr" in error.choices
    assert "'n_step'" in str(error) and "n_steps" in str(error) and "\n" not in str(error)


def test_bad_run_params():
    with pytest.raises(rl.BadRunParams, match="training never ends"):
        rl.run_results(CARTPOLE, "debug", {}, {"test_episodes": 2}, 0)
    with pytest.raises(rl.BadRunParams, match="no such key.*train_frames"):
        rl.run_results(CARTPOLE, "debug", {}, {"train_frame": 2}, 0)
    with pytest.raises(rl.BadRunParams, match="test_episodes"):
        rl.run_results(CARTPOLE, "debug", {}, {"train_frames": 2, "test_episodes": 0}, 0)


def test_a_trials_tensorboard_folder_is_named_by_session_trial_and_seed(tmp_path):
    from hyperopt import hp

    from slurm_search import session

    logdir = tmp_path / "tb"
    name = session.create_session(
        "rl_test_objectives:train_a2c",
        {"seed": hp.choice("seed", [7, 8])}, max_evals=2, algo="enumeration",
        context={"logdir": str(logdir)},
    )
    session.work_on(name, worker_id="w")
    short = name.split(":", 1)[1]
    folders = sorted(p.relative_to(logdir).as_posix() for p in logdir.glob("*/*"))
    assert folders == [f"{short}/trial0_seed7", f"{short}/trial1_seed8"]
    for folder in folders:
        events = list((logdir / folder).glob("events.out.tfevents.*"))
        assert events and events[0].stat().st_size > 0


def test_a_debug_agent_checks_its_environment_too():
    # It names the environment in its results and plots: a bogus one is refused.
    run = {"train_frames": 100, "test_episodes": 2}
    with pytest.raises(rl.UnknownEnvironment, match="classic:NoSuch-v0"):
        rl.run_results("classic:NoSuch-v0", "debug", {}, run, 0)
    with pytest.raises(rl.UnknownEnvironment, match="atari:NoSuchGame"):
        rl.run_results("atari:NoSuchGame", "debug", {}, run, 0)
    assert rl.run_results(CARTPOLE, "debug", {}, run, 0)["return_mean"] is not None


def test_an_unwritable_tensorboard_folder_is_one_line_before_training(tmp_path, monkeypatch):
    (tmp_path / "afile").write_text("")
    monkeypatch.setenv("SLURM_SEARCH_RL_LOGDIR", str(tmp_path / "afile" / "tb"))
    with pytest.raises(rl.UnwritableLogdir) as info:
        rl.run_results(CARTPOLE, "classic:a2c", {}, A2C_RUN, 0)
    message = str(info.value)
    assert "\n" not in message and "SLURM_SEARCH_RL_LOGDIR" in message and "afile is a file" in message
    with pytest.raises(rl.UnwritableLogdir, match="the run's logdir"):
        rl.run_results(CARTPOLE, "classic:a2c", {}, {**A2C_RUN, "logdir": str(tmp_path / "afile" / "x")}, 0)
