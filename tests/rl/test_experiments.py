"""The RL experiments end to end through ``run_exp`` (a real subprocess):
every one in debug mode, ``hp_tuning_effects`` with a real A2C agent at a
tiny budget, local worker processes, and the user errors."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from slurm_search import dsl

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EXPERIMENTS = [
    "hp_tuning_effects",
    "hp_tuning_effects_rand",
    "tuning_config_effects",
    "compare_agents",
    "compare_hp_spaces_random",
    "multienv_agent_grid",
]


def run_exp(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    script = Path(sys.executable).parent / "run_exp"
    command = [str(script)] if script.exists() else [sys.executable, "-c", "from slurm_search.dsl._cli import main; main()"]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=timeout)


def check_plots(output: str, home: Path) -> list[Path]:
    from matplotlib import image

    paths = [Path(line[len("plot: "):]) for line in output.splitlines() if line.startswith("plot: ")]
    assert paths, output
    for path in paths:
        # In the experiment's folder of the store, never the working directory.
        assert path.is_relative_to(home / "exp"), path
        assert path.read_bytes()[:8] == PNG_SIGNATURE
        assert image.imread(str(path)).ndim == 3
    return paths


def experiment_name(output: str) -> str:
    match = re.search(r"^experiment: (exp:\S+)$", output, re.M)
    assert match, output
    return match.group(1)


def test_all_registered():
    assert set(EXPERIMENTS) <= set(dsl.registered())


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_debug_mode_end_to_end(name, slurm_search_home, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = run_exp(name, "--debug=true", "--seed=5")
    assert out.returncode == 0, out.stderr[-3000:]
    check_plots(out.stdout, slurm_search_home)
    assert experiment_name(out.stdout)
    assert "Traceback" not in out.stderr


def test_hp_tuning_effects_summary_and_reproducibility():
    first = dsl.run_experiment("hp_tuning_effects", debug=True, seed=11).results
    again = dsl.run_experiment("hp_tuning_effects", debug=True, seed=11).results
    assert first == again
    means = dict((repr(setting), mean) for setting, mean in first["setting_means"])
    assert first["best_hp"] in [s for s, _ in first["setting_means"]]
    assert means[repr(first["best_hp"])] == max(means.values())
    assert means[repr(first["worst_hp"])] == min(means.values())
    assert len(first["best_cdf"]) == 4 and first["best_cdf"] == sorted(first["best_cdf"])
    noise = first["noise"]
    assert noise["ratio"] == pytest.approx(noise["trial_std"] / noise["hp_std"])


def test_hp_tuning_effects_real_a2c_tiny_budget(slurm_search_home, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = run_exp(
        "hp_tuning_effects", "--seed=2", "--search:method=inline",
        "--search:settings=2", "--search:runs_per_setting=1", "--eval:runs=1",
        "--run:train_frames=500", "--run:test_episodes=2", "--run:device=cpu",
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "classic:a2c on classic:CartPole-v1, 500 training frames per run" in out.stdout
    check_plots(out.stdout, slurm_search_home)
    name = experiment_name(out.stdout).split(":", 1)[1]
    # ALL's TensorBoard logs: in the experiment's folder, not the cwd.
    # One folder per training run, named by its session, trial and seed.
    from slurm_search import state

    runs = list((slurm_search_home / "exp" / name / "tensorboard").glob("*/*"))
    sessions = {sub.split(":", 1)[1] for sub in state.read(f"exp:{name}")["sessions"].values()}
    assert len(runs) == 4 and all(re.fullmatch(r"trial\d+_seed\d+", run.name) for run in runs)
    assert {run.parent.name for run in runs} <= sessions
    assert list(tmp_path.iterdir()) == [slurm_search_home]


def test_local_worker_processes(slurm_search_home):
    out = run_exp("hp_tuning_effects", "--debug=true", "--seed=5", "--search:method=cpu", "--search:threads=2")
    assert out.returncode == 0, out.stderr[-3000:]
    inline = run_exp("hp_tuning_effects", "--debug=true", "--seed=5")
    # Random search under the hood (fewer settings than TPE's start-up
    # trials): the same seed gives the same results whichever way it runs.
    summary = [line for line in out.stdout.splitlines() if line.startswith(("best", "worst", "all settings"))]
    assert summary and summary == [line for line in inline.stdout.splitlines() if line.startswith(("best", "worst", "all settings"))]


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--agent=classic:a3c"], "--agent=classic:a3c is not valid: expected one of classic:a2c"),
        (["--agent=classic:a2c", "--env=classic:CartPol-v1"], "classic:CartPole-v1"),
        (["--agent=classic:dqn"], "--hp_space=entropy_loss_scaling is not valid: expected hyperparameters that classic:dqn takes"),
        (["--run:train_frames=-1"], "--run:train_frames=-1 is not valid"),
    ],
)
def test_user_errors_give_one_line(args, expected, slurm_search_home):
    out = run_exp("hp_tuning_effects", "--debug=true", "--seed=1", *args)
    assert out.returncode != 0
    assert "Traceback" not in out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("run_exp: error:")]
    assert len(errors) == 1 and expected in errors[0], out.stderr
    # Nothing ran and nothing was stored: no run record, no search session.
    for kind in ("exp", "search"):
        assert not (slurm_search_home / kind).exists() or not any((slurm_search_home / kind).iterdir()), kind


def summary_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(("best", "worst", "all settings", "trial std"))]


@pytest.mark.slurm
def test_slurm_workers_give_the_inline_results(slurm_cluster, slurm_search_home):
    partition = slurm_cluster.partitions[0]
    on_slurm = run_exp(
        "hp_tuning_effects", "--debug=true", "--seed=6", "--search:method=slurm",
        f"--slurm:partition={partition}", "--slurm:time=0:10:00", "--search:threads=2",
    )
    assert on_slurm.returncode == 0, on_slurm.stderr[-3000:]
    check_plots(on_slurm.stdout, slurm_search_home)
    inline = run_exp("hp_tuning_effects", "--debug=true", "--seed=6")
    assert summary_lines(on_slurm.stdout) and summary_lines(on_slurm.stdout) == summary_lines(inline.stdout)


def _node_experiment():
    from slurm_search.rl import return_cdf, return_mean, return_var

    args = ("env", "agent", "hp", "run_params", "run_seed")
    return {"mean": return_mean(*args), "var": return_var(*args), "cdf": return_cdf(*args)}


def test_nodes_resolve_parameters_and_match_run_results():
    from slurm_search import rl

    config = {
        "env": "classic:CartPole-v1",
        "agent": "debug4",
        "hp": {"lr": 0.01},
        "run": {"train_frames": 10, "test_episodes": 7},
        "run_seed": 42,
    }
    spec = {"config": config, "experiment_func": _node_experiment, "debug_overrides": {}, "display_func": None}
    results = dsl.run_experiment(spec, seed=0).results
    # "run_params" fell back to the parameter "run".
    expected = rl.run_results("classic:CartPole-v1", "debug4", {"lr": 0.01}, config["run"], 42)
    assert results == {"mean": expected["return_mean"], "var": expected["return_var"], "cdf": expected["returns_cdf"]}
