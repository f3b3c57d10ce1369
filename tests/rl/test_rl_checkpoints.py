"""Checkpoints of real ALL agents: a save/load round trip restores what the
agent learned exactly, and an A2C trial cut by the warning signal again and
again (a real `ssearch work_on` process each time, SIGUSR1) continues from
its checkpoints: its return is the uninterrupted run's within noise, and it
trains about as many frames."""

from __future__ import annotations

import os
import random
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import rl_ckpt_objectives

from slurm_search import session

torch = pytest.importorskip("torch")

SSEARCH = Path(sys.executable).parent / "ssearch"
HERE = Path(__file__).parent
CARTPOLE = "classic:CartPole-v1"


def _trained_agent(agent: str, seed: int, frames: int, tmp_path: Path):
    from all.environments import DuplicateEnvironment

    from slurm_search.rl._names import parse_agent, parse_env
    from slurm_search.rl._training import _close, _make_env, _ParallelEnv, _seed_env, _SingleEnv, preset_builder

    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    env = _make_env(parse_env(CARTPOLE), "cpu")
    preset = preset_builder(parse_agent(agent)).env(env).device("cpu").build()
    options = dict(logdir=str(tmp_path / f"tb{seed}"), quiet=True, verbose=False, save_freq=float("inf"))
    n_envs = getattr(preset, "n_envs", None)
    if n_envs is not None:
        copies = [_make_env(parse_env(CARTPOLE), "cpu") for _ in range(int(n_envs))]
        for index, copy in enumerate(copies):
            _seed_env(copy, seed + index)
        experiment = _ParallelEnv(preset, DuplicateEnvironment(copies), **options)
    else:
        _seed_env(env, seed)
        experiment = _SingleEnv(preset, env, **options)
    if frames:
        experiment.train(frames=frames)
    _close(experiment)
    return experiment._agent


def _tensors(state) -> list:
    """Every tensor in a (nested) state dict, in order."""
    if torch.is_tensor(state):
        return [state]
    if isinstance(state, dict):
        return [t for key in sorted(state, key=str) for t in _tensors(state[key])]
    if isinstance(state, (list, tuple)):
        return [t for item in state for t in _tensors(item)]
    return []


def _same(a, b) -> bool:
    ta, tb = _tensors(a), _tensors(b)
    return len(ta) == len(tb) and all(x.shape == y.shape and torch.equal(x, y) for x, y in zip(ta, tb))


@pytest.mark.parametrize(("agent", "frames"), [("classic:a2c", 1500), ("classic:dqn", 1200)])
def test_a_save_load_round_trip_restores_parameters_and_optimiser_state_exactly(agent, frames, tmp_path):
    from slurm_search.rl._agent_state import agent_state, load_agent_state

    trained = _trained_agent(agent, seed=1, frames=frames, tmp_path=tmp_path)
    saved = agent_state(trained, replay=True)
    torch.save(saved, tmp_path / "agent.pt")  # through the file, as a checkpoint does
    fresh = _trained_agent(agent, seed=2, frames=0, tmp_path=tmp_path)
    before = agent_state(fresh, replay=True)
    assert not _same(before["module"], saved["module"]), "a fresh agent already has the trained weights"
    assert saved["optimizer"] and all(s["state"] for s in saved["optimizer"].values()), "no optimiser moments"

    load_agent_state(fresh, torch.load(tmp_path / "agent.pt", weights_only=False))
    after = agent_state(fresh, replay=True)
    for kind in ("module", "optimizer", "lr_scheduler"):
        assert after[kind].keys() == saved[kind].keys()
        for path in saved[kind]:
            assert _same(after[kind][path], saved[kind][path]), f"{kind} {path} differs"
    for path, state in saved["optimizer"].items():
        assert after["optimizer"][path]["param_groups"] == state["param_groups"]  # lr, betas, step counts
    assert after["value"] == saved["value"]  # update counters, exploration schedule, ...
    if agent == "classic:dqn":
        (path,) = saved["replay"]
        old, new = saved["replay"][path], after["replay"][path]
        assert new["pos"] == old["pos"] and len(new["buffer"]) == len(old["buffer"]) > 0
        assert all(_same(dict(a[0]), dict(b[0])) for a, b in zip(old["buffer"], new["buffer"]))


def _summary_steps(folder: Path) -> list[int]:
    """The steps of the ``summary/returns100/mean`` points in a run's TensorBoard folder, every event file."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    steps = []
    for path in sorted(folder.glob("events.*")):
        for event in EventFileLoader(str(path)).Load():
            if any(value.tag == "summary/returns100/mean" for value in event.summary.value):
                steps.append(event.step)
    return steps


def _frames_log(tmp_path: Path) -> Path:
    return tmp_path / "frames.txt"


def _lines(path: Path) -> list[list[str]]:
    return [line.split() for line in path.read_text().splitlines()] if path.exists() else []


def _session(frames: int) -> str:
    context = {
        "env": CARTPOLE,
        "agent": "classic:a2c",
        "run": {"train_frames": frames, "test_episodes": 20, "device": "cpu"},
    }
    return session.create_session(
        "rl_ckpt_objectives:train", {"seed": [5]}, algo="enumeration", context=context, lease_seconds=30
    )


def test_a2c_cut_by_the_warning_signal_continues_from_its_checkpoints(tmp_path, monkeypatch):
    frames, cut_every = 9_000, 2_000
    log = _frames_log(tmp_path)
    monkeypatch.setenv(rl_ckpt_objectives.FRAMES_VARIABLE, str(log))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))

    reference = _session(frames)
    done = subprocess.run([str(SSEARCH), "work_on", reference], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    uninterrupted = session.results(reference)[0].result
    frames_uninterrupted = sum(int(line[1]) for line in _lines(log) if line[-1] == "end")
    log.unlink()

    name = _session(frames)
    cuts = 0
    for _ in range(12):
        proc = subprocess.Popen([str(SSEARCH), "work_on", name], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        cut = False
        while proc.poll() is None and time.monotonic() < deadline:
            stepped = [int(line[1]) for line in _lines(log) if line[0] == str(proc.pid) and line[-1] != "end"]
            if stepped and max(stepped) >= cut_every:
                proc.send_signal(signal.SIGUSR1)  # Slurm's warning signal
                cut = True
                break
            time.sleep(0.05)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        row = session.trial_rows(name)[0]
        if cut and row.state != "ok":  # (the signal may come as the run is tested: it then ends)
            assert row.state == "waiting", f"a cut trial is {row.state}, not waiting:\n{err}"
            cuts += 1
        if session.progress(name).status == "done":
            break
    assert cuts >= 3, "the run was not cut often enough to test anything"
    (row,) = session.trial_rows(name)
    assert row.state == "ok", "more cuts than max_attempts: each cut with a checkpoint gave its attempt back"
    assert row.attempt == cuts + 1

    # One TensorBoard folder for the trial, whose curve goes on where each cut left it.
    runs = Path(os.environ["SLURM_SEARCH_HOME"]) / "tmp" / "tensorboard" / session.session_name(name).split(":")[-1]
    (folder,) = runs.iterdir()
    steps = _summary_steps(folder)
    assert len(list(folder.glob("events.*"))) >= row.attempt  # (+ the test's hparams file)
    assert steps == sorted(set(steps)) and len(steps) >= 2 and steps[-1] >= frames, steps

    interrupted = session.results(name)[0].result
    # Every attempt continued from the last one's checkpoint: about the frames of one run.
    frames_interrupted = sum(int(line[1]) for line in _lines(log) if line[-1] == "end")
    assert abs(frames_interrupted - frames_uninterrupted) <= 0.10 * frames_uninterrupted, (
        frames_interrupted, frames_uninterrupted)
    # Within noise: the interrupted run's mean test return is inside the
    # range of the uninterrupted policy's test episodes, and far above what
    # a run that started over at each cut (2,000 frames of training) gets.
    low, high = min(uninterrupted["returns_cdf"]), max(uninterrupted["returns_cdf"])
    assert low <= interrupted["return_mean"] <= high, (interrupted["return_mean"], uninterrupted["returns_cdf"])
    assert interrupted["return_mean"] >= 0.5 * uninterrupted["return_mean"]
    assert statistics.fmean(uninterrupted["returns_cdf"]) == pytest.approx(uninterrupted["return_mean"])


def test_dqn_killed_after_a_checkpoint_resumes_bit_identically_with_its_replay_buffer(tmp_path, monkeypatch):
    # A single environment's periodic checkpoints fall between episodes; with
    # the replay buffer and every random state in them, the resumed run is
    # the uninterrupted one (the README's claim).
    log = _frames_log(tmp_path)
    monkeypatch.setenv(rl_ckpt_objectives.FRAMES_VARIABLE, str(log))
    run = {"train_frames": 2500, "test_episodes": 5, "device": "cpu",
           "checkpoint_every": 500, "checkpoint_replay_buffer": True}
    context = {"env": CARTPOLE, "agent": "classic:dqn", "run": run}

    def create() -> str:
        return session.create_session("rl_ckpt_objectives:train", {"seed": [3]}, algo="enumeration",
                                      context=context, lease_seconds=2)

    reference = create()
    session.work_on(reference)
    uninterrupted = session.results(reference)[0].result["returns_cdf"]

    name = create()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([str(SSEARCH), "work_on", name], env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if any(line[0] == str(proc.pid) and int(line[1]) >= 2000 for line in _lines(log)):
                break
            time.sleep(0.02)
    finally:
        proc.kill()
        proc.wait()
    assert session.checkpoint_stats(name).checkpoints > 0
    assert session.trial_rows(name)[0].state == "running"
    time.sleep(2.5)  # its lease runs out
    session.work_on(name)
    (row,) = session.trial_rows(name)
    assert row.state == "ok" and row.attempt == 2
    assert session.results(name)[0].result["returns_cdf"] == uninterrupted
    # ... and not because it started over: it continued from a checkpoint past frame 1,000.
    ends = [int(line[1]) for line in _lines(log) if line[0] == str(os.getpid()) and line[-1] == "end"]
    assert len(ends) == 2 and ends[1] < ends[0] - 1000, ends


@pytest.mark.parametrize(
    ("run", "match"),
    [
        ({"checkpoint_every": -5}, r"checkpoint_every=-5 is not valid: expected a non-negative number$"),
        ({"checkpoint_every": "inf"}, r"checkpoint_every='inf' is not valid"),
        ({"checkpoint_replay_buffer": "yes"}, r"checkpoint_replay_buffer='yes' is not valid: expected true or false$"),
        ({"checkpoint_replay_buffer": 1}, r"checkpoint_replay_buffer=1 is not valid: expected true or false$"),
    ],
)
def test_bad_checkpoint_settings_are_one_line(run, match):
    from slurm_search import rl

    with pytest.raises(rl.BadRunParams, match=match):
        rl.run_results(CARTPOLE, "debug", {}, {"train_frames": 10, **run}, 0)


def test_ssearch_start_ale_refuses_a_bad_checkpoint_setting_in_one_line(slurm_search_home):
    out = subprocess.run(
        [str(SSEARCH), "start", "ale", "agent=classic:a2c", "checkpoint_replay_buffer=maybe", "--method=inline"],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode != 0
    assert "Traceback" not in out.stderr
    assert "checkpoint_replay_buffer='maybe' is not valid: expected true or false" in out.stderr
    assert session.list_sessions(all=True) == []
