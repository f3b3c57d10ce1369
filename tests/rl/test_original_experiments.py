"""The original slurm-search's 18 experiments, registered under their names:
each end to end through ``run_exp`` in debug mode (a real subprocess, real
hyperopt, a debug agent), what they compute, and how ``run_exp`` lists them."""

from __future__ import annotations

import math
import re

import pytest

from slurm_search import dsl, rl

from test_experiments import check_plots, experiment_name, run_exp

ORIGINAL = [
    "compare_agents",
    "compare_hp_spaces",
    "multienv_hp_tuning_effects",
    "multienv_tuning_beta",
    "multienv_benchmark",
    "multienv_atari_benchmark",
    "multienv_atari_benchmark_dqn",
    "multienv_atari_benchmark_vsarsa",
    "gen_benchmark",
    "multienv_benchmark_tuning",
    "multienv_a2c_benchmark_tuning",
    "multienv_ppo_benchmark_tuning",
    "multienv_vsarsa_benchmark_tuning",
    "multienv_dqn_benchmark_tuning",
    "hp_tuning_effects",
    "hp_tuning_effects_rand",
    "hp_tuning_model_best",
    "tuning_config_effects",
]
# Those that read a benchmark that gen_benchmark stored.
NEEDS_BENCHMARK = {name for name in ORIGINAL if name.endswith("benchmark_tuning")}
CLASSIC = ["classic:CartPole-v1", "classic:MountainCar-v0", "classic:Acrobot-v1"]
ALREADY_TESTED = {"compare_agents", "hp_tuning_effects", "hp_tuning_effects_rand", "tuning_config_effects"}


def test_all_18_registered_with_a_description():
    assert len(ORIGINAL) == 18
    out = run_exp()
    assert out.returncode == 0, out.stderr
    listed = dict(re.findall(r"^  (\S+)\s+(.+)$", out.stdout, re.M))
    for name in ORIGINAL:
        assert name in listed, name
        description = listed[name]
        # A sentence, not the entry point's module:attribute.
        assert "slurm_search." not in description and " " in description, (name, description)


@pytest.mark.parametrize("name", [n for n in ORIGINAL if n not in ALREADY_TESTED])
def test_debug_mode_end_to_end(name, slurm_search_home, tmp_path, monkeypatch):
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    if name in NEEDS_BENCHMARK:
        # What gen_benchmark stores (its own test runs it), made directly.
        rl.write_benchmark("exp:made_by_hand", {env: [60.0 + i for i in range(80)] for env in CLASSIC})
    out = run_exp(name, "--debug=true", "--seed=5")
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Traceback" not in out.stderr
    check_plots(out.stdout, slurm_search_home)
    assert experiment_name(out.stdout)
    # The printed summary.
    assert re.search(r"Trial STD / HP std = |<= ", out.stdout), out.stdout[-2000:]
    assert list(work.iterdir()) == []  # nothing written in the working directory


def test_multienv_point_values_nest_setting_env_seed():
    results = dsl.run_experiment("multienv_benchmark", debug=True, seed=4).results
    space = results["space_results"]
    assert len(space["point_values"]) == 3  # setting_samples
    for setting, env_results in space["point_values"]:
        assert set(setting) == {"clip_grad", "lr", "entropy_loss_scaling", "n_envs", "n_steps"}
        assert 2 <= setting["n_envs"] <= 32 and 0.001 <= setting["clip_grad"] <= 1  # bounded
        assert len(env_results["point_values"]) == 2  # env_samples_per_setting
        for env, seed_results in env_results["point_values"]:
            assert env in ("classic:CartPole-v1", "classic:MountainCar-v0", "classic:Acrobot-v1")
            (seed, value), = seed_results["point_values"]  # run_samples_per_setting_env
            assert isinstance(value, float)
    # The measures read outside in, as the original's.
    means = dict((repr(s), m) for s, m in results["space_hp_returns_mean"])
    for setting, env_results in space["point_values"]:
        inner = [v for _, seeds in env_results["point_values"] for _, v in seeds["point_values"]]
        assert means[repr(setting)] == pytest.approx(sum(inner) / len(inner))
    assert results["best_hp"] == max(results["space_hp_returns_mean"], key=lambda p: p[1])[0]
    assert results["space_returns_cdf"] == sorted(means.values())
    assert len(results["best_hp_results"]["point_values"]) == 6  # eval:env_samples


def test_hp_tuning_model_best_evaluates_four_settings_on_fresh_seeds():
    results = dsl.run_experiment("hp_tuning_model_best", debug=True, seed=4).results
    tried = [s for s, _ in results["space_hp_returns_mean"]]
    assert results["best_hp"] in tried and results["worst_hp"] in tried
    for key in ("model_best_hp", "model_worst_hp"):
        assert set(results[key]) == {"lr", "entropy_loss_scaling"}
        assert 1e-4 <= results[key]["lr"] <= 1e-2
    for key in ("best_hp_results", "worst_hp_results", "model_best_hp_results", "model_worst_hp_results"):
        assert len(results[key]["cdf"]) == 4  # eval:run_samples
    assert results["best_hp_results"]["mean"] > results["worst_hp_results"]["mean"]


def test_compare_hp_spaces_tunes_each_of_the_four_spaces():
    results = dsl.run_experiment("compare_hp_spaces", debug=True, seed=4).results
    assert sorted(results) == sorted(
        ["loguniform_hp_space", "lognormal_hp_space", "lognormal_smaller_hp_space", "lognormal_smallerer_hp_space"]
    )
    for space in results.values():
        assert len(space["space_hp_returns_cdf"]) == 4
        assert space["best_hp"] == max(space["space_hp_returns_mean"], key=lambda p: p[1])[0]
        assert 1 <= space["best_hp"]["n_envs"] <= 32
        assert len(space["best_hp_results"]["cdf"]) == 4


def test_gen_benchmark_stores_a_benchmark_the_tuning_reads():
    made = dsl.run_experiment("gen_benchmark", debug=True, seed=4)
    spec = dsl.load_spec("gen_benchmark")
    spec.display_func(made.name, {}, made.results)
    data = rl.benchmark_data(made.name)
    runs = sum(len(cdf) for cdf in data["env_cdfs"].values())
    assert runs == 4 * 3 * 2  # agents × setting_samples × env_samples_per_setting
    for cdf in data["env_cdfs"].values():
        assert cdf == sorted(cdf)
    # multienv_benchmark_tuning scores returns by their percentile in it.
    tuned = dsl.run_experiment("multienv_a2c_benchmark_tuning", {"benchmark": made.name}, debug=True, seed=4).results
    scores = [v for _, v in tuned["space_hp_returns_mean"]["classic:a2c"]]
    assert all(0 <= v <= 1 for v in scores)
    env = next(iter(data["env_cdfs"]))
    cdf = data["env_cdfs"][env]
    assert rl.percentile_score(cdf, cdf[0]) == 0 and rl.percentile_score(cdf, math.inf) == 1


def test_an_agent_space_the_agent_does_not_take_is_refused_before_anything_runs(slurm_search_home):
    out = run_exp("gen_benchmark", "--vsarsa_hp_space:bogus=1", "--allow-new-params", "--search:method=inline")
    assert out.returncode == 1
    assert "--vsarsa_hp_space=bogus is not valid" in out.stderr and "initial_exploration" in out.stderr
    assert not (slurm_search_home / "search").exists()  # nothing ran
