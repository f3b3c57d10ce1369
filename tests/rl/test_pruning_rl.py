"""RL trials report while they train, so a search's pruner can stop them:
the report hook in ALL's training loop, and hp_tuning_effects with ASHA."""

from __future__ import annotations

import pytest

from slurm_search import session, state
from slurm_search.rl._names import parse_agent, parse_env, parse_run_params
from slurm_search.rl._training import train_and_test

CARTPOLE = "classic:CartPole-v1"


class Stop(Exception):
    pass


def test_training_reports_every_report_every_frames_and_can_be_stopped(tmp_path):
    params = parse_run_params({"train_frames": 2000, "test_episodes": 2, "device": "cpu", "report_every": 400})
    seen = []
    train_and_test(parse_agent("classic:a2c"), parse_env(CARTPOLE), None, params, 3, tmp_path,
                   lambda value, step: seen.append((step, value)))
    assert [step for step, _ in seen] == [400, 800, 1200, 1600, 2000]
    assert all(0 < value < 500 for _, value in seen)  # mean returns of CartPole episodes

    def stop_at_800(value, step):
        if step >= 800:
            raise Stop(step)

    with pytest.raises(Stop):
        train_and_test(parse_agent("classic:a2c"), parse_env(CARTPOLE), None, params, 3, tmp_path, stop_at_800)


def test_report_every_is_checked():
    from slurm_search import rl

    with pytest.raises(rl.BadRunParams, match="report_every"):
        parse_run_params({"train_frames": 10, "report_every": -1})


def test_hp_tuning_effects_with_asha_prunes_settings():
    from slurm_search.dsl import run_experiment

    overrides = {
        "search:method": "inline", "search:settings": 5, "search:runs_per_setting": 1, "eval:runs": 1,
        "run:train_frames": 1500, "run:report_every": 500, "run:test_episodes": 2, "run:device": "cpu",
        "search:pruner": "asha",
        "search:pruner_options:asha:min_resource": 500, "search:pruner_options:asha:reduction_factor": 2,
        "search:pruner_options:asha:max_resource": 1500,
    }
    result = run_experiment("hp_tuning_effects", overrides, seed=3)
    sessions = state.read(result.name)["sessions"]
    (tuning,) = {n for p, n in sessions.items() if not any("@" in s for s in p) and session.info(n).algo == "tpe"}
    progress = session.progress(tuning)
    assert progress.status == "done" and progress.pruned >= 1 and progress.completed >= 1
    for tid, values in session.trial_reports(tuning).items():
        assert set(values) <= {500, 1000, 1500} and all(v < 0 for v in values.values())  # minus returns
    assert len(result.results["setting_means"]) == progress.completed


def test_the_ale_session_type_prunes_on_minus_the_training_return():
    from slurm_search.session.workers._registry import session_arguments

    args = session_arguments(
        "ale",
        {"agent": "classic:a2c", "train_frames": 1500, "report_every": 500, "test_episodes": 2, "device": "cpu"},
    )
    args.update(max_evals=5, seed=2, pruner="asha", pruner_options={"min_resource": 500, "reduction_factor": 2})
    name = session.create_session(**args)
    session.work_on(name)
    progress = session.progress(name)
    assert progress.status == "done" and progress.pruned >= 1 and progress.completed >= 1
    reports = session.trial_reports(name)
    assert all(set(v) <= {500, 1000, 1500} and all(x < 0 for x in v.values()) for v in reports.values())
